//! Raw HTTP/1.1 over a `TcpStream`, for requests a polite client will not make: a
//! chunked body (no `Content-Length`) far bigger than the server accepts. The response
//! is read on its own thread while the body is still being written, so an early answer
//! (a 413 before the body ends) is seen even if the server then stops reading.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// What came back, and how much of the body the server let us write.
pub struct RawReply {
    pub status: u16,
    /// Header lines, lowercased names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Body bytes written before the server answered or stopped reading.
    pub sent: u64,
}

impl RawReply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// POSTs `total` bytes to `base` + `path` with `Transfer-Encoding: chunked`, in chunks of
/// `chunk` bytes made by `fill(offset, buf)`; stops writing as soon as a response starts
/// arriving or the server closes. `base` is `http://127.0.0.1:PORT`.
pub fn post_chunked(
    base: &str,
    path: &str,
    content_type: &str,
    total: u64,
    chunk: usize,
    mut fill: impl FnMut(u64, &mut [u8]),
) -> std::io::Result<RawReply> {
    let authority = base.strip_prefix("http://").unwrap_or(base).trim_end_matches('/');
    let stream = TcpStream::connect(authority)?;
    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
    stream.set_write_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = stream.try_clone()?;
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = answered.clone();
    let read_thread = std::thread::spawn(move || {
        let mut response = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    flag.store(true, std::sync::atomic::Ordering::Relaxed);
                    response.extend_from_slice(&buf[..n]);
                    if complete(&response) {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        response
    });

    let mut writer = stream;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: {content_type}\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    let mut sent = 0u64;
    let mut buf = vec![0u8; chunk];
    if writer.write_all(head.as_bytes()).is_ok() {
        while sent < total && !answered.load(std::sync::atomic::Ordering::Relaxed) {
            let n = chunk.min((total - sent) as usize);
            fill(sent, &mut buf[..n]);
            let mut framed = format!("{n:x}\r\n").into_bytes();
            framed.extend_from_slice(&buf[..n]);
            framed.extend_from_slice(b"\r\n");
            if writer.write_all(&framed).is_err() {
                break;
            }
            sent += n as u64;
        }
        if sent == total {
            let _ = writer.write_all(b"0\r\n\r\n");
        }
    }
    let response = read_thread.join().expect("reader thread");
    let _ = writer.shutdown(std::net::Shutdown::Both);
    parse(&response, sent)
}

/// Whether `response` holds a whole HTTP response (head plus a body of
/// `Content-Length` bytes, or a chunked body through its last chunk).
fn complete(response: &[u8]) -> bool {
    let Some(end) = find(response, b"\r\n\r\n") else { return false };
    let head = String::from_utf8_lossy(&response[..end]).to_ascii_lowercase();
    let body = &response[end + 4..];
    if let Some(len) = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
    {
        return body.len() >= len;
    }
    if head.contains("transfer-encoding: chunked") {
        return find(body, b"0\r\n\r\n").is_some();
    }
    false
}

fn parse(response: &[u8], sent: u64) -> std::io::Result<RawReply> {
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
    let end = find(response, b"\r\n\r\n").ok_or_else(|| bad("no complete response head"))?;
    let head = String::from_utf8_lossy(&response[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("bad status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let raw = &response[end + 4..];
    let chunked = headers.iter().any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked { dechunk(raw) } else { raw.to_vec() };
    Ok(RawReply { status, headers, body, sent })
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = find(raw, b"\r\n") {
        let size = std::str::from_utf8(&raw[..eol])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 || raw.len() < eol + 2 + size {
            break;
        }
        out.extend_from_slice(&raw[eol + 2..eol + 2 + size]);
        raw = &raw[(eol + 4 + size).min(raw.len())..];
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Sends `method path` declaring a `Content-Length` of `declared` bytes, writes only
/// `body` (fewer), and drops the connection: a client whose network fails mid-request.
/// Nothing is read back.
pub fn cut_request(base: &str, method: &str, path: &str, headers: &[(&str, &str)], declared: u64, body: &[u8]) -> std::io::Result<()> {
    let authority = base.strip_prefix("http://").unwrap_or(base).trim_end_matches('/');
    let mut stream = TcpStream::connect(authority)?;
    stream.set_write_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Length: {declared}\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()?;
    stream.shutdown(std::net::Shutdown::Both)
}
