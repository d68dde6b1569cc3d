//! Streaming parser of uploaded ID lists: a CSV with one `entity_id` column.
//! Fed chunk by chunk (a chunk may end mid-line), it yields each data line's
//! ID or the reason it is invalid, and drops duplicates, without keeping the
//! file: only a 64-bit hash per distinct ID is remembered (a caller that
//! tells repeats apart more cheaply, by member index, turns that off).

use std::borrow::Cow;
use std::collections::HashSet;
use std::hash::{BuildHasher, Hasher};

use crate::ids::validate_entity_id;

/// What one data line of the file holds. An ID borrows the chunk it was
/// read from where it can: a 10M-line upload allocates nothing per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line<'a> {
    Id { line: u64, id: Cow<'a, str> },
    Invalid { line: u64, reason: String },
    Duplicate { line: u64 },
}

#[derive(Debug, Default)]
pub struct IdListParser {
    partial: Vec<u8>,
    line: u64,
    header_seen: bool,
    /// Hashes of the IDs yielded so far (`None`: repeats are yielded too).
    seen: Option<HashSet<u64>>,
    hasher: std::collections::hash_map::RandomState,
}

/// The longest line kept while waiting for its end; longer ones are invalid.
const MAX_LINE: usize = 4096;

impl IdListParser {
    pub fn new() -> Self {
        Self {
            seen: Some(HashSet::new()),
            ..Self::default()
        }
    }

    /// A parser that yields a repeated ID again, for a caller that finds
    /// repeats itself.
    pub fn keeping_duplicates() -> Self {
        Self::default()
    }

    /// Hands `each` the data lines completed by `chunk`.
    pub fn feed_each(&mut self, chunk: &[u8], mut each: impl FnMut(Line<'_>)) {
        let mut rest = chunk;
        while let Some(end) = rest.iter().position(|b| *b == b'\n') {
            let (head, tail) = rest.split_at(end);
            if self.partial.is_empty() {
                // A whole line inside the chunk is read in place.
                self.line(&head[..head.len().min(MAX_LINE)], &mut each);
            } else {
                if self.partial.len() < MAX_LINE {
                    let room = MAX_LINE - self.partial.len();
                    self.partial.extend_from_slice(&head[..head.len().min(room)]);
                }
                let line = std::mem::take(&mut self.partial);
                self.line(&line, &mut each);
            }
            rest = &tail[1..];
        }
        if self.partial.len() < MAX_LINE {
            let room = MAX_LINE - self.partial.len();
            self.partial.extend_from_slice(&rest[..rest.len().min(room)]);
        }
    }

    /// Hands `each` the last line, if the file does not end with a newline.
    pub fn finish_each(&mut self, mut each: impl FnMut(Line<'_>)) {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.line(&line, &mut each);
        }
    }

    /// Data lines completed by `chunk`, owned.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<Line<'static>> {
        let mut out = Vec::new();
        self.feed_each(chunk, |line| out.push(line.into_owned()));
        out
    }

    /// The last line, if the file does not end with a newline, owned.
    pub fn finish(&mut self) -> Vec<Line<'static>> {
        let mut out = Vec::new();
        self.finish_each(|line| out.push(line.into_owned()));
        out
    }

    /// Whether the `entity_id` header line has been read.
    pub fn has_header(&self) -> bool {
        self.header_seen
    }

    fn line(&mut self, raw: &[u8], each: &mut impl FnMut(Line<'_>)) {
        self.line += 1;
        let line = self.line;
        let mut raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if line == 1 {
            raw = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw);
        }
        let invalid = |reason: &str| Line::Invalid {
            line,
            reason: reason.to_string(),
        };
        let Ok(text) = std::str::from_utf8(raw) else {
            each(invalid("is not UTF-8 text"));
            return;
        };
        if !self.header_seen {
            if text.trim().trim_matches('"') == "entity_id" {
                self.header_seen = true;
            } else {
                each(invalid("the first line must be the header entity_id"));
                self.header_seen = true;
            }
            return;
        }
        if raw.len() >= MAX_LINE {
            each(invalid("is longer than 4096 bytes"));
            return;
        }
        let id = match field(text) {
            Ok(id) => id,
            Err(reason) => {
                each(invalid(reason));
                return;
            }
        };
        if let Err(reason) = validate_entity_id(&id) {
            each(Line::Invalid {
                line,
                reason: format!("the ID {reason}"),
            });
            return;
        }
        let repeated = self.seen.as_mut().is_some_and(|seen| {
            let mut hasher = self.hasher.build_hasher();
            hasher.write(id.as_bytes());
            !seen.insert(hasher.finish())
        });
        each(if repeated {
            Line::Duplicate { line }
        } else {
            Line::Id { line, id }
        });
    }
}

/// The single field of a line: trimmed, unquoted; more than one is an error.
fn field(text: &str) -> Result<Cow<'_, str>, &'static str> {
    let text = text.trim();
    if let Some(inner) = text.strip_prefix('"') {
        let Some(inner) = inner.strip_suffix('"') else {
            return Err("has an unterminated quote");
        };
        let unescaped = inner.replace("\"\"", "\"");
        if unescaped.contains('"') {
            return Err("has a stray quote");
        }
        return Ok(Cow::Owned(unescaped.trim().to_string()));
    }
    if text.contains(',') {
        return Err("has more than one column (expected only entity_id)");
    }
    Ok(Cow::Borrowed(text))
}

impl Line<'_> {
    /// The same line, owning its ID.
    pub fn into_owned(self) -> Line<'static> {
        match self {
            Line::Id { line, id } => Line::Id {
                line,
                id: Cow::Owned(id.into_owned()),
            },
            Line::Invalid { line, reason } => Line::Invalid { line, reason },
            Line::Duplicate { line } => Line::Duplicate { line },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse_in_chunks(text: &str, size: usize) -> Vec<Line<'static>> {
        let mut parser = IdListParser::new();
        let mut out = Vec::new();
        for chunk in text.as_bytes().chunks(size.max(1)) {
            out.extend(parser.feed(chunk));
        }
        out.extend(parser.finish());
        out
    }

    #[test]
    fn reports_each_bad_line_with_its_number_and_reason() {
        let text = "\u{feff}entity_id\r\nU1\r\n\r\nU2,extra\nU 3\n\"U4\"\nU1\n\"U5\n";
        let lines = parse_in_chunks(text, 3);
        assert_eq!(
            lines,
            vec![
                Line::Id {
                    line: 2,
                    id: "U1".into()
                },
                Line::Invalid {
                    line: 3,
                    reason: "the ID is empty".into()
                },
                Line::Invalid {
                    line: 4,
                    reason: "has more than one column (expected only entity_id)".into()
                },
                Line::Invalid {
                    line: 5,
                    reason: "the ID has characters other than letters, digits, '_', '.', ':' and '-'".into()
                },
                Line::Id {
                    line: 6,
                    id: "U4".into()
                },
                Line::Duplicate { line: 7 },
                Line::Invalid {
                    line: 8,
                    reason: "has an unterminated quote".into()
                },
            ]
        );
    }

    #[test]
    fn a_missing_header_is_reported_on_line_one() {
        let lines = parse_in_chunks("U1\nU2", 100);
        assert_eq!(
            lines,
            vec![
                Line::Invalid {
                    line: 1,
                    reason: "the first line must be the header entity_id".into()
                },
                Line::Id {
                    line: 2,
                    id: "U2".into()
                },
            ]
        );
    }

    proptest! {
        #[test]
        fn chunk_boundaries_do_not_change_the_result(ids in proptest::collection::vec("[A-Za-z0-9]{1,8}", 0..40), size in 1usize..17) {
            let text = format!("entity_id\n{}\n", ids.join("\n"));
            prop_assert_eq!(parse_in_chunks(&text, size), parse_in_chunks(&text, text.len()));
            let distinct: std::collections::HashSet<&String> = ids.iter().collect();
            let kept = parse_in_chunks(&text, size).into_iter().filter(|l| matches!(l, Line::Id { .. })).count();
            prop_assert_eq!(kept, distinct.len());
        }
    }
}
