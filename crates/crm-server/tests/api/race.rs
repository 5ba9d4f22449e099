//! Requests released at the same moment on connections opened beforehand, so that a race the
//! server could lose is provoked rather than hoped for.

use std::time::Duration;

use futures::future::join_all;
use serde_json::Value;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::helpers::TestApp;

/// A whole HTTP/1.1 request with `key` and `Connection: close`.
pub fn raw_request(key: &str, method: &str, path: &str, body: Option<&Value>) -> Vec<u8> {
    let body = body
        .map(|body| serde_json::to_vec(body).expect("JSON"))
        .unwrap_or_default();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
         Authorization: {key}\r\n"
    );
    if !body.is_empty() {
        head.push_str("Content-Type: application/json\r\n");
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut request = head.into_bytes();
    request.extend_from_slice(&body);
    request
}

/// A response: its status and its JSON body (`Null` when empty).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    pub fn message(&self) -> &str {
        self.body["Message"].as_str().unwrap_or_default()
    }
}

/// Sends `requests` so that the server gets them all at the same moment: a connection is opened
/// for each, each request is written but for its last byte, and then the last bytes are written
/// one after the other in a tight loop. Returns the answers in the order of `requests`.
pub async fn release_together(app: &TestApp, requests: &[Vec<u8>]) -> Vec<Answer> {
    let address = app.address.trim_start_matches("http://");
    let mut streams = Vec::with_capacity(requests.len());
    for _ in requests {
        let stream = TcpStream::connect(address).await.expect("connect");
        stream.set_nodelay(true).expect("TCP_NODELAY");
        streams.push(stream);
    }
    for (stream, request) in streams.iter_mut().zip(requests) {
        stream
            .write_all(&request[..request.len() - 1])
            .await
            .expect("write");
    }
    // Give the server the time to read what it has so far: every request then waits for one
    // byte only.
    tokio::time::sleep(Duration::from_millis(30)).await;
    for (stream, request) in streams.iter_mut().zip(requests) {
        stream
            .write_all(&request[request.len() - 1..])
            .await
            .expect("write the last byte");
    }
    join_all(streams.into_iter().map(read_answer)).await
}

/// Reads a response to the end (the request said `Connection: close`).
async fn read_answer(mut stream: TcpStream) -> Answer {
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(15), stream.read_to_end(&mut response))
        .await
        .expect("an answer within 15 s")
        .expect("read the answer");
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("not an HTTP response: {text:?}"));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|status| status.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {text:?}"));
    let body = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {text:?}"))
    };
    Answer { status, body }
}
