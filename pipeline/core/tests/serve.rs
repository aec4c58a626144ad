//! Every connection of a listener is bounded: slow or idle senders are cut off, a body announced
//! too large is refused before it is sent, and connections beyond the limit wait.

use axum::Router;
use axum::body::Bytes;
use axum::routing::{get, post};
use callsight_core::serve::{self, HttpConfig};
use callsight_core::shutdown::Shutdown;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Far longer than any bound below: a connection that is still open after it was not cut off.
const PATIENCE: Duration = Duration::from_secs(30);

async fn start(limits: HttpConfig) -> (SocketAddr, Shutdown) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let routes = Router::new()
        .route("/livez", get(|| async { "ok\n" }))
        .route(
            "/echo",
            post(|body: Bytes| async move { body.len().to_string() }),
        );
    let shutdown = Shutdown::new();
    serve::spawn(
        &shutdown,
        listener,
        serve::limit_bodies(routes, 1024),
        "test",
        &limits,
    );
    (addr, shutdown)
}

fn tight() -> HttpConfig {
    HttpConfig {
        header_timeout: Duration::from_millis(300),
        request_timeout: Duration::from_secs(1),
        max_connections: 4,
        max_connection_age: Duration::from_secs(600),
        max_buffered_bytes: 1024 * 1024,
    }
}

/// A request for `/livez` that closes its connection.
const LIVEZ: &[u8] = b"GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

/// Opens a connection and sends `request` on it.
async fn send(addr: SocketAddr, request: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connects");
    stream.write_all(request).await.expect("writes");
    stream
}

/// The first bytes of the server's answer on `stream`, within [`PATIENCE`].
async fn first_answer(stream: &mut TcpStream) -> String {
    let mut answer = vec![0u8; 256];
    let n = tokio::time::timeout(PATIENCE, stream.read(&mut answer))
        .await
        .expect("answered in time")
        .expect("reads");
    String::from_utf8_lossy(&answer[..n]).to_string()
}

/// Everything the server sends until it closes the connection.
async fn until_closed(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut out))
        .await
        .expect("the server closes the connection")
        .ok();
    String::from_utf8_lossy(&out).to_string()
}

#[tokio::test]
async fn slow_headers_and_idle_connections_are_closed() {
    let (addr, shutdown) = start(tight()).await;
    // Headers that never end.
    let mut slow = send(addr, b"GET /livez HTTP/1.1\r\nHost: x\r\n").await;
    until_closed(&mut slow).await;
    // A connection that never sends a byte.
    let mut idle = TcpStream::connect(addr).await.expect("connects");
    until_closed(&mut idle).await;
    // A kept-alive connection after its answer.
    let mut kept = send(addr, b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let answer = until_closed(&mut kept).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    shutdown.token.cancel();
}

#[tokio::test]
async fn a_body_sent_a_byte_at_a_time_is_cut_off() {
    let (addr, shutdown) = start(tight()).await;
    let (mut reader, mut writer) = TcpStream::connect(addr)
        .await
        .expect("connects")
        .into_split();
    writer
        .write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
        .await
        .expect("writes");
    // A byte per 100 ms would take 100 s for the whole body.
    let trickle = tokio::spawn(async move {
        for _ in 0..1000 {
            if writer.write_all(b"x").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let mut answer = Vec::new();
    tokio::time::timeout(PATIENCE, reader.read_to_end(&mut answer))
        .await
        .expect("answered and closed before the body is complete")
        .ok();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    trickle.abort();
    shutdown.token.cancel();
}

#[tokio::test]
async fn a_body_announced_too_large_is_refused_before_it_is_sent() {
    let (addr, shutdown) = start(tight()).await;
    let mut stream = send(
        addr,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1073741824\r\n\r\n",
    )
    .await;
    let answer = first_answer(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    shutdown.token.cancel();
}

#[tokio::test]
async fn connections_beyond_the_limit_wait_for_room() {
    let (addr, shutdown) = start(HttpConfig {
        max_connections: 1,
        header_timeout: Duration::from_secs(60),
        ..tight()
    })
    .await;
    let holder = TcpStream::connect(addr).await.expect("connects");
    // Give the server the time to take the first connection.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut waiting = send(addr, LIVEZ).await;
    let mut answer = vec![0u8; 64];
    assert!(
        tokio::time::timeout(Duration::from_millis(500), waiting.read(&mut answer))
            .await
            .is_err(),
        "answered while the only connection slot was held"
    );
    drop(holder);
    let answer = first_answer(&mut waiting).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    shutdown.token.cancel();
}

/// A client that never reads its answer keeps its connection only until the connection's age,
/// plus a request's time for the answer in flight: then it is dropped and its slot freed.
#[tokio::test]
async fn a_client_that_never_reads_its_answer_loses_its_connection() {
    let (addr, shutdown) = start(HttpConfig {
        max_connections: 1,
        header_timeout: Duration::from_secs(60),
        max_connection_age: Duration::from_secs(2),
        ..tight()
    })
    .await;
    // Asks for an endless answer and reads none of it: once the socket buffers are full, the
    // answer's writes stall.
    let greedy = send(addr, b"GET /endless HTTP/1.1\r\nHost: x\r\n\r\n").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut next = send(addr, LIVEZ).await;
    let answer = first_answer(&mut next).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    drop(greedy);
    shutdown.token.cancel();
}

#[tokio::test]
async fn a_connection_is_closed_at_its_age() {
    let (addr, shutdown) = start(HttpConfig {
        header_timeout: Duration::from_secs(60),
        max_connection_age: Duration::from_secs(1),
        ..tight()
    })
    .await;
    let mut kept = send(addr, b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let answer = until_closed(&mut kept).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    shutdown.token.cancel();
}

/// Bodies held at once are bounded: with room for one 1 MiB body in the listener's budget, a
/// second body arriving while the first is read is told to retry.
#[tokio::test]
async fn bodies_beyond_the_buffered_budget_are_told_to_retry() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let routes = Router::new().route(
        "/echo",
        post(|body: Bytes| async move { body.len().to_string() }),
    );
    let shutdown = Shutdown::new();
    serve::spawn(
        &shutdown,
        listener,
        serve::limit_bodies(routes, 1024 * 1024),
        "test",
        &HttpConfig {
            request_timeout: Duration::from_secs(30),
            ..tight()
        },
    );
    // The first announces 1 MiB and sends it slowly: it holds the whole budget.
    let first = send(
        addr,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\nxx",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut second = send(
        addr,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789",
    )
    .await;
    let answer = first_answer(&mut second).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("retry-after: 1"),
        "{answer}"
    );
    drop(first);
    shutdown.token.cancel();
}
