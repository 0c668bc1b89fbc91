//! When a document is erased, in words: lifetimes ("7 days"), the expiry sentence of the editor
//! pages (plain and HTML) and its UTC timestamp.

use super::lang::Lang;
use super::strings::retention_text;
use crate::convert::escape::html as escape;
use crate::doc::lifetime::{self, Lifetime, Unit};
use crate::doc::meta::Kind;

/// A document's lifetime and when it ends if nobody edits it.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// Chosen at creation.
    pub lifetime: Lifetime,
    /// Unix seconds; `None` for never.
    pub expires_at: Option<u64>,
}

/// A lifetime in words: "1 day", "30 secondes", "until deleted".
pub fn lifetime_label(lang: Lang, lifetime: Lifetime) -> String {
    let t = retention_text(lang);
    match lifetime.amount() {
        None => t.forever.to_owned(),
        Some((n, unit)) => {
            let (one, many) = t.units[match unit {
                Unit::Second => 0,
                Unit::Minute => 1,
                Unit::Hour => 2,
                Unit::Day => 3,
            }];
            format!("{n} {}", if n == 1 { one } else { many })
        }
    }
}

/// When a document will be erased if nobody edits it, as a sentence (plain text).
pub fn expiry_note(lang: Lang, kind: Kind, retention: Retention) -> String {
    let (sentence, when) = expiry_parts(lang, kind, retention);
    match when {
        Some((utc_text, _)) => sentence.replace("{when}", &utc_text),
        None => sentence,
    }
}

/// [`expiry_note`] as HTML, the moment in a `<time datetime>` a client can reformat.
pub(super) fn expiry_html(lang: Lang, kind: Kind, retention: Retention) -> String {
    let (sentence, when) = expiry_parts(lang, kind, retention);
    let Some((utc_text, at)) = when else {
        return escape(&sentence);
    };
    let (before, after) = sentence.split_once("{when}").unwrap_or((&sentence, ""));
    format!(
        "{}<time datetime=\"{}\">{}</time>{}",
        escape(before),
        iso_utc(at),
        escape(&utc_text),
        escape(after)
    )
}

/// The expiry sentence with `{when}` left in, and that moment in UTC words and Unix seconds
/// (`None` for a document kept until deleted).
fn expiry_parts(lang: Lang, kind: Kind, retention: Retention) -> (String, Option<(String, u64)>) {
    let t = retention_text(lang);
    let doc = t.docs[match kind {
        Kind::Pad => 0,
        Kind::Calc => 1,
    }];
    let Some(at) = retention.expires_at else {
        return (t.kept_forever.replace("{doc}", doc), None);
    };
    let (year, month, day, hour, minute) = lifetime::utc(at);
    let month = t.months[(month as usize).saturating_sub(1) % 12];
    let utc_text = t
        .when
        .replace("{date}", &format!("{day} {month} {year}"))
        .replace("{time}", &format!("{hour:02}:{minute:02}"));
    let sentence = t
        .expires
        .replace("{lifetime}", &lifetime_label(lang, retention.lifetime))
        .replace("{doc}", doc);
    (sentence, Some((utc_text, at)))
}

/// `unix` seconds as an ISO 8601 UTC timestamp (`2024-02-29T13:37:00Z`).
pub(super) fn iso_utc(unix: u64) -> String {
    let (year, month, day, hour, minute) = lifetime::utc(unix);
    format!(
        "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{:02}Z",
        unix % 60
    )
}
