//! A role's task that panics stops the process with a failure; one that ends normally does not.

use callsight_core::shutdown::Shutdown;
use std::time::Duration;

#[tokio::test]
async fn a_panicking_task_fails_the_process() {
    let shutdown = Shutdown::new();
    shutdown.spawn_watched("calm", async {});
    shutdown.spawn_watched("doomed", async {
        // A bug, as a hostile record once triggered one: the task dies.
        panic!("a record that cannot be applied");
    });
    tokio::time::timeout(Duration::from_secs(30), shutdown.token.cancelled())
        .await
        .expect("the panic cancels the process");
    assert!(shutdown.failed(), "the process exits with a failure");
    shutdown.tracker.close();
    shutdown.tracker.wait().await;
}

#[tokio::test]
async fn a_task_that_ends_leaves_the_process_running() {
    let shutdown = Shutdown::new();
    shutdown.spawn_watched("calm", async {});
    shutdown.tracker.close();
    shutdown.tracker.wait().await;
    assert!(!shutdown.token.is_cancelled() && !shutdown.failed());
}
