//! The one decision every creation path takes (page `/p/` and `/c/`, home form, WebSocket
//! join, `/api/v1`, EtherCalc `POST /_` and `PUT /_/{name}`, imports): does this document
//! exist, and may it be created now.
//!
//! It reads metadata only (the live room's, else storage's, on the blocking pool) and loads a
//! room only for a document that exists or a creation that goes ahead, so a refusal spawns no
//! task, keeps nothing in the hub, and does not count in the `rooms` admission signal it
//! exists to relieve.
//!
//! **Documents nobody typed into.** A document made by opening its link (the pages `/p/` and
//! `/c/`, a WebSocket join, a client writing to a name with no metadata) is *provisional*
//! (`DocMeta::provisional`): it exists while people are in it, so shedding treats it as
//! existing, but when its room unloads and it is still untouched (its Yjs state holds no
//! client but the calc's first-sheet client, `calc::schema::FIRST_SHEET_CLIENT`, and nothing was
//! ever deleted) the room erases it as a delete would: metadata, log, snapshot, read-only token
//! and expiry entry. Any client's, the API's or an import's edit adds its own Yjs client to the
//! state vector for good, so a document once typed into is kept, even emptied, across restarts.
//! A document asked for (home form, API, EtherCalc, import: `NewDoc::provisional` false) is
//! kept even if empty. Shutting down erases nothing (a page left open reconnects after the
//! restart and must find its document, of its kind); what a shutdown or crash leaves is erased
//! at the end of its next visit, or expires with its lifetime.

use crate::doc::lifetime::Lifetime;
use crate::doc::meta::{DocMeta, Kind, NewDoc};
use crate::doc::name::DocName;
use crate::doc::secret::CreatorHash;
use crate::service::admission::AdmissionHandle;
use crate::service::ServiceError;
use crate::sync::hub::Hub;

/// A document made by opening its link (a page, a WebSocket join): provisional, erased when its
/// room unloads untouched.
pub fn visited(kind: Kind, lifetime: Lifetime, creator: Option<CreatorHash>) -> NewDoc {
    NewDoc {
        kind,
        lifetime,
        creator,
        provisional: true,
    }
}

/// A document asked for by name (home form, API, EtherCalc, import): kept even if empty.
pub fn asked(kind: Kind, lifetime: Lifetime, creator: Option<CreatorHash>) -> NewDoc {
    NewDoc {
        kind,
        lifetime,
        creator,
        provisional: false,
    }
}

/// The metadata of `name`, creating the document as `new` if it does not exist and
/// `admission` is open; [`ServiceError::CreationClosed`] when it does not exist and creation is
/// closed (nothing was loaded or kept for it). Every creation path asks here, and only here.
pub async fn open(
    hub: &Hub,
    admission: &AdmissionHandle,
    name: &DocName,
    new: NewDoc,
) -> Result<DocMeta, ServiceError> {
    // Asked at the moment of deciding: the flag is one atomic load, and `Hub::open` reads the
    // metadata before it would load anything.
    hub.open(name, admission.is_open().then_some(new))
        .await?
        .ok_or_else(|| ServiceError::CreationClosed(name.clone(), new.kind))
}

/// At most this many near names are offered for a missing one.
const NEAR_NAMES: usize = 3;

/// Stored names looked at for near ones: those sharing the missing name's first three
/// characters, in name order, at most this many (the search costs what it lists).
const NEAR_SCAN: usize = 200;

/// Existing documents whose names are near `missing` (what "Open" offers: "did you mean…"),
/// with their kinds. Near means: sharing its first three characters and within one edit
/// (insertion, deletion or substitution of a character) for names of 5 to 7 characters, two
/// from 8 on; none for shorter names. So it reveals only names a person could almost type
/// already; a random name (16 characters) is never offered to anyone who does not hold 14 of
/// them. A storage error offers nothing (the page still says the name does not exist).
pub async fn near_names(hub: &Hub, missing: &DocName) -> Vec<(DocName, Kind)> {
    let wanted = missing.as_str();
    let max = match wanted.len() {
        0..=4 => return Vec::new(),
        5..=7 => 1,
        _ => 2,
    };
    let Ok(listed) = hub.list(&wanted[..3], None, NEAR_SCAN).await else {
        return Vec::new();
    };
    listed
        .into_iter()
        .filter(|doc| doc.name != *missing && within_edits(wanted, doc.name.as_str(), max))
        .take(NEAR_NAMES)
        .map(|doc| (doc.name, doc.meta.kind))
        .collect()
}

/// Whether `a` becomes `b` in at most `max` single-character edits (Levenshtein distance over
/// bytes: names are ASCII). Both are names, so at most 100 bytes: one 101-cell row.
fn within_edits(a: &str, b: &str, max: usize) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len().abs_diff(b.len()) > max {
        return false;
    }
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (diagonal + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
        if row.iter().all(|&d| d > max) {
            return false;
        }
    }
    row[b.len()] <= max
}

#[cfg(test)]
mod tests {
    use super::within_edits;

    #[test]
    fn near_means_few_edits() {
        assert!(within_edits("sortie-muse", "sortie-musee", 1));
        assert!(within_edits("sortie-musee", "sortie-muse", 1));
        assert!(within_edits("sortie-musxe", "sortie-musee", 1));
        assert!(!within_edits("sortie-mu", "sortie-musee", 2));
        assert!(within_edits("maths-6b", "math-6c", 2));
        assert!(!within_edits("abcdef", "uvwxyz", 2));
        assert!(within_edits("abc", "abc", 0));
    }
}
