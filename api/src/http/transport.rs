//! Problem+json for the refusals actix-http writes itself, before a request
//! exists: 408 (the request head did not arrive in time), 431 (the head is too
//! large) and 400 (the head cannot be parsed).
//!
//! actix-http's HTTP/1 dispatcher writes these with an empty body and offers no
//! hook: no service, middleware or error handler ever sees them. So the server's
//! connections are wrapped in [`ProblemTransport`], which recognises exactly such a
//! response where it is written to the socket (a whole response head with
//! `content-length: 0`, status 400, 408 or 431, as one write: the application
//! never answers 4xx without a problem body) and writes the same head with a
//! problem+json body instead. Everything else passes through untouched. The
//! language follows the `Accept-Language` of what the client sent so far.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use actix_web::http::StatusCode;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::http::problem::{Lang, PROBLEM_JSON, for_status, problem_body};

/// How much of what the client sent is kept to find its `Accept-Language`.
const SNIFFED: usize = 8 * 1024;

/// A connection whose transport-level refusals are problem+json.
pub struct ProblemTransport<T> {
    io: T,
    /// The start of what the client sent (for the language of a refusal).
    received: Vec<u8>,
    /// A rewritten refusal still to be written, and how much of it is.
    pending: Vec<u8>,
    written: usize,
}

impl<T> ProblemTransport<T> {
    /// Wraps a connection.
    pub fn new(io: T) -> Self {
        Self {
            io,
            received: Vec::new(),
            pending: Vec::new(),
            written: 0,
        }
    }
}

impl<T: AsyncWrite + Unpin> ProblemTransport<T> {
    /// Writes what is left of a rewritten refusal.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.pending.len() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.pending[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        self.pending.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ProblemTransport<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.io).poll_read(cx, buf))?;
        if this.received.len() < SNIFFED {
            let new = &buf.filled()[before..];
            let room = SNIFFED - this.received.len();
            this.received.extend_from_slice(&new[..new.len().min(room)]);
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ProblemTransport<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        match with_problem_body(buf, language(&this.received)) {
            Some(rewritten) => {
                this.pending = rewritten;
                // Accepted: what the socket does not take now, flush or shutdown writes.
                if let Poll::Ready(Err(e)) = this.drain(cx) {
                    return Poll::Ready(Err(e));
                }
                Poll::Ready(Ok(buf.len()))
            }
            None => Pin::new(&mut this.io).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

/// The language asked for in what the client sent so far (Chinese by default).
fn language(received: &[u8]) -> Lang {
    let text = String::from_utf8_lossy(received);
    let value = text.split("\r\n").find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("accept-language")
            .then(|| value.trim())
    });
    Lang::from_accept_language(value)
}

/// `written`, when it is exactly one bodiless 400, 408 or 431 response head, with
/// a problem+json body instead; `None` for anything else.
fn with_problem_body(written: &[u8], lang: Lang) -> Option<Vec<u8>> {
    let head = written.strip_suffix(b"\r\n\r\n")?;
    let head = std::str::from_utf8(head).ok()?;
    if head.contains("\r\n\r\n") {
        return None;
    }
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let status: u16 = ["HTTP/1.1 ", "HTTP/1.0 "]
        .iter()
        .find_map(|v| status_line.strip_prefix(v))?
        .get(..3)?
        .parse()
        .ok()?;
    if !matches!(status, 400 | 408 | 431) {
        return None;
    }
    let headers: Vec<&str> = lines.collect();
    let bodiless = headers.iter().any(|h| {
        h.split_once(':').is_some_and(|(name, value)| {
            name.trim().eq_ignore_ascii_case("content-length") && value.trim() == "0"
        })
    });
    if !bodiless {
        return None;
    }
    let status = StatusCode::from_u16(status).ok()?;
    let body = serde_json::to_string(&problem_body(&for_status(status), lang, None, None)).ok()?;
    let mut out = String::with_capacity(head.len() + body.len() + 160);
    out.push_str(status_line);
    out.push_str("\r\n");
    for h in headers.iter().filter(|h| {
        !h.split_once(':')
            .is_some_and(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
    }) {
        out.push_str(h);
        out.push_str("\r\n");
    }
    out.push_str(&format!(
        "content-type: {PROBLEM_JSON}\r\ncontent-language: {}\r\n\
         x-content-type-options: nosniff\r\ncache-control: no-store\r\n\
         content-length: {}\r\n\r\n{body}",
        match lang {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        },
        body.len()
    ));
    Some(out.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(head: &str, lang: Lang) -> Option<String> {
        with_problem_body(head.as_bytes(), lang).map(|b| String::from_utf8(b).unwrap())
    }

    #[test]
    fn a_bodiless_408_gets_a_problem_body_and_keeps_its_headers() {
        let out = rewritten(
            "HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\ndate: Wed, 02 Dec 2026 20:00:00 GMT\r\n\r\n",
            Lang::En,
        )
        .expect("rewritten");
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        assert!(
            head.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
            "{head}"
        );
        assert!(head.contains("connection: close"), "{head}");
        assert!(head.contains("date: Wed, 02 Dec 2026"), "{head}");
        assert!(
            head.contains("content-type: application/problem+json"),
            "{head}"
        );
        assert!(
            head.contains(&format!("content-length: {}", body.len())),
            "{head}"
        );
        assert!(!head.contains("content-length: 0"), "{head}");
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(json["status"], 408);
        assert_eq!(json["code"], "request.timeout");
    }

    #[test]
    fn answers_with_a_body_and_other_statuses_pass_through() {
        for head in [
            "HTTP/1.1 400 Bad Request\r\ncontent-length: 120\r\n\r\n",
            "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
            "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n{}",
            "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\nHTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n",
            "some body bytes",
        ] {
            assert_eq!(rewritten(head, Lang::Zh), None, "{head}");
        }
    }

    #[test]
    fn the_language_follows_accept_language_of_what_was_received() {
        assert_eq!(
            language(b"GET / HTTP/1.1\r\nAccept-Language: en-US,en;q=0.9\r\nX-Big: aaaa"),
            Lang::En
        );
        assert_eq!(language(b"GET / HTTP/1.1\r\nHost: x\r\n"), Lang::Zh);
        assert_eq!(language(b"\xff\xfe garbage"), Lang::Zh);
    }
}
