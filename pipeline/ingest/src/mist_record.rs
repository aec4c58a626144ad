//! Recordings of Mist polls: every answer the poller receives, written to a folder so that an
//! incident can be replayed later (`callsight replay`) with other thresholds.
//!
//! Layout: one folder per org and poll, `mist-poll-<poll ms>-<org>/`, holding `poll.json`
//! (`{"org_id", "polled_at"}`, epoch ms) and one `NNNN.json` per answer in the order received
//! (`{"path", "body"}`, the path as requested, the body as answered).

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The file naming a poll's folder.
pub const POLL_FILE: &str = "poll.json";

/// Writes the answers of the polls of one org.
#[derive(Debug)]
pub struct Recorder {
    root: PathBuf,
    org_id: String,
    current: Option<(PathBuf, usize)>,
    warned: bool,
}

impl Recorder {
    /// Records into `root` (created when needed).
    pub fn new(root: &Path, org_id: &str) -> Recorder {
        Recorder {
            root: root.to_path_buf(),
            org_id: org_id.to_string(),
            current: None,
            warned: false,
        }
    }

    /// Starts the recording of a poll made at `polled_at` (epoch ms).
    pub fn begin(&mut self, polled_at: i64) {
        let dir = self
            .root
            .join(format!("mist-poll-{polled_at}-{}", sanitize(&self.org_id)));
        let made = std::fs::create_dir_all(&dir).and_then(|()| {
            std::fs::write(
                dir.join(POLL_FILE),
                serde_json::to_vec(&json!({"org_id": self.org_id, "polled_at": polled_at}))
                    .unwrap_or_default(),
            )
        });
        match made {
            Ok(()) => {
                self.current = Some((dir, 0));
                self.warned = false;
            }
            Err(e) => {
                self.current = None;
                self.warn(&e);
            }
        }
    }

    /// Records one answer of the poll in progress.
    pub fn answer(&mut self, path: &str, body: &Value) {
        let Some((dir, n)) = &mut self.current else {
            return;
        };
        *n += 1;
        let file = dir.join(format!("{n:04}.json"));
        let written = serde_json::to_vec(&json!({"path": path, "body": body}))
            .map_err(std::io::Error::other)
            .and_then(|bytes| std::fs::write(&file, bytes));
        if let Err(e) = written {
            self.warn(&e);
        }
    }

    fn warn(&mut self, error: &std::io::Error) {
        if !self.warned {
            self.warned = true;
            tracing::warn!(dir = %self.root.display(), error = %error, "cannot record the Mist poll");
        }
    }
}

fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// One recorded poll.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedPoll {
    /// The org.
    pub org_id: String,
    /// When it was made, epoch ms.
    pub polled_at: i64,
    /// Every answer by the path requested.
    pub answers: BTreeMap<String, Value>,
}

/// Reads a poll's folder; `None` for a folder that is not one (no `poll.json`).
pub fn read(dir: &Path) -> std::io::Result<Option<RecordedPoll>> {
    let Ok(meta) = std::fs::read(dir.join(POLL_FILE)) else {
        return Ok(None);
    };
    let meta: Value = serde_json::from_slice(&meta).map_err(std::io::Error::other)?;
    let (Some(org_id), Some(polled_at)) = (meta["org_id"].as_str(), meta["polled_at"].as_i64())
    else {
        return Err(std::io::Error::other(format!(
            "{}: poll.json names no org_id and polled_at",
            dir.display()
        )));
    };
    let mut answers = BTreeMap::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().and_then(|n| n.to_str()) != Some(POLL_FILE))
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("json"))
        .collect();
    files.sort();
    for file in files {
        let answer: Value = serde_json::from_slice(&std::fs::read(&file)?)
            .map_err(|e| std::io::Error::other(format!("{}: {e}", file.display())))?;
        if let Some(path) = answer["path"].as_str() {
            answers.insert(path.to_string(), answer["body"].clone());
        }
    }
    Ok(Some(RecordedPoll {
        org_id: org_id.to_string(),
        polled_at,
        answers,
    }))
}
