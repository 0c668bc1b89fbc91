//! The one decision every creation path takes (page `/p/` and `/c/`, home form, WebSocket
//! join, `/api/v1`, EtherCalc `POST /_` and `PUT /_/{name}`, imports): does this document
//! exist, and may it be created now.
//!
//! It reads metadata only (the live room's, else storage's, on the blocking pool) and loads a
//! room only for a document that exists or a creation that goes ahead, so a refusal spawns no
//! task, keeps nothing in the hub, and does not count in the `rooms` admission signal it
//! exists to relieve.

use crate::admission::AdmissionHandle;
use crate::hub::{Hub, HubError};
use crate::meta::{DocMeta, NewDoc};
use crate::name::DocName;

/// The metadata of `name`, creating the document as `new` if it does not exist and
/// `admission` is open; `None` when it does not exist and creation is closed (nothing was
/// loaded or kept for it).
pub async fn open(
    hub: &Hub,
    admission: &AdmissionHandle,
    name: &DocName,
    new: NewDoc,
) -> Result<Option<DocMeta>, HubError> {
    // Asked at the moment of deciding: the flag is one atomic load, and `Hub::open` reads the
    // metadata before it would load anything.
    hub.open(name, admission.is_open().then_some(new)).await
}
