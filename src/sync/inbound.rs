//! Turns one received frame into what a room acts on: y-websocket framing, then the yrs update
//! or state vector, then the awareness entries. Runs on the connection's task, so decoding cost
//! and errors stay with the connection that sent the frame.

use std::panic::{catch_unwind, AssertUnwindSafe};

use bytes::Bytes;
use yrs::updates::decoder::Decode;
use yrs::{StateVector, Update};

use crate::doc::guard::{self, GuardError, Shape};
use crate::sync::awareness::{self, AwarenessError};
use crate::sync::protocol::{self, Message, ProtocolError};

/// A validated client message, ready for the room.
#[derive(Debug)]
pub enum Inbound {
    /// Sync step 1: answer with what the client lacks.
    Step1(StateVector),
    /// An update to apply (from step 2 or an update message).
    Update(Box<CheckedUpdate>),
    /// Awareness entries to apply.
    Awareness(Vec<awareness::Entry>),
    /// A request for every awareness state.
    QueryAwareness,
}

/// An update that passed the shape guard and decodes, with what the room checks before applying
/// it: its encoded size and where its items hang.
#[derive(Debug)]
pub struct CheckedUpdate {
    /// The decoded update.
    pub update: Update,
    /// Its encoded length.
    pub len: usize,
    /// Where its items hang, for the room's nesting check ([`crate::doc::nesting::Nesting`]).
    pub shape: Shape,
}

impl CheckedUpdate {
    /// Vets `update` with the shape guard, then decodes it.
    pub fn decode(update: &[u8]) -> Result<CheckedUpdate, InboundError> {
        // yrs decodes nested values by recursion: vet the shape first, since a stack
        // overflow aborts the process where `catch_unwind` cannot help.
        let shape = guard::shape(update)?;
        let decoded = guarded(|| Update::decode_v1(update).ok()).ok_or(InboundError::Update)?;
        Ok(CheckedUpdate {
            update: decoded,
            len: update.len(),
            shape,
        })
    }
}

/// Why a frame was refused. Messages are safe to send as close reasons.
#[derive(Debug, thiserror::Error)]
pub enum InboundError {
    /// Broken y-websocket framing.
    #[error("malformed message: {0}")]
    Protocol(#[from] ProtocolError),
    /// The update does not decode.
    #[error("malformed update")]
    Update,
    /// The update's shape is refused before decoding.
    #[error(transparent)]
    Shape(#[from] GuardError),
    /// The state vector does not decode.
    #[error("malformed state vector")]
    StateVector,
    /// The awareness update was refused.
    #[error(transparent)]
    Awareness(#[from] AwarenessError),
}

/// Parses one binary frame; `Ok(None)` for message types the server ignores.
pub fn parse(frame: &Bytes, max_awareness_state: usize) -> Result<Option<Inbound>, InboundError> {
    Ok(Some(match protocol::decode(frame)? {
        Message::SyncStep1(sv) => Inbound::Step1(
            guarded(|| StateVector::decode_v1(&sv).ok()).ok_or(InboundError::StateVector)?,
        ),
        Message::SyncStep2(update) | Message::Update(update) => {
            Inbound::Update(Box::new(CheckedUpdate::decode(&update)?))
        }
        Message::Awareness(payload) => Inbound::Awareness(awareness::decode_client_update(
            &payload,
            max_awareness_state,
            awareness::MAX_CLIENTS_PER_CONNECTION,
        )?),
        Message::QueryAwareness => Inbound::QueryAwareness,
        Message::Unknown(_) => return Ok(None),
    }))
}

/// Runs a yrs decoder, turning a panic on hostile bytes into `None`.
fn guarded<T>(f: impl FnOnce() -> Option<T>) -> Option<T> {
    catch_unwind(AssertUnwindSafe(f)).ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use yrs::{Doc, GetString, ReadTxn, Text, Transact};

    #[test]
    fn accepts_real_yrs_messages() {
        let doc = Doc::new();
        let text = doc.get_or_insert_text("content");
        text.insert(&mut doc.transact_mut(), 0, "hé 👋");
        let update = doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        let parsed = parse(&protocol::sync_update(&update), 1024).expect("valid");
        let Some(Inbound::Update(u)) = parsed else {
            panic!("expected an update, got {parsed:?}");
        };
        assert_eq!(u.len, update.len());
        let other = Doc::new();
        other
            .transact_mut()
            .apply_update(u.update)
            .expect("applies");
        assert_eq!(
            other
                .get_or_insert_text("content")
                .get_string(&other.transact()),
            "hé 👋"
        );

        let sv = doc.transact().state_vector();
        let parsed = parse(
            &protocol::sync_step1(&yrs::updates::encoder::Encode::encode_v1(&sv)),
            1024,
        );
        assert!(matches!(parsed, Ok(Some(Inbound::Step1(s))) if s == sv));
    }

    #[test]
    fn refuses_truncated_updates() {
        let doc = Doc::new();
        doc.get_or_insert_text("content")
            .insert(&mut doc.transact_mut(), 0, "hello world");
        let update = doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        for cut in 1..update.len() {
            let frame = protocol::sync_update(&update[..cut]);
            assert!(parse(&frame, 1024).is_err(), "cut at {cut} accepted");
        }
    }

    #[test]
    fn deeply_nested_values_are_refused_without_decoding() {
        // One client, one root item of Any content: 100k nested one-element arrays.
        let mut update = vec![1, 1, 1, 0, 8, 1, 1, b'x', 1];
        for _ in 0..100_000 {
            update.extend([117, 1]);
        }
        update.extend([126, 0]);
        let parsed = parse(&protocol::sync_update(&update), 1024);
        assert!(
            matches!(parsed, Err(InboundError::Shape(GuardError::TooDeep))),
            "{parsed:?}"
        );
    }

    proptest! {
        #[test]
        fn arbitrary_payloads_never_panic(kind in 0u8..4, sub in 0u8..3, payload in proptest::collection::vec(any::<u8>(), 0..256)) {
            let mut frame = bytes::BytesMut::new();
            protocol::put_var_uint(&mut frame, u64::from(kind));
            if kind == 0 {
                protocol::put_var_uint(&mut frame, u64::from(sub));
            }
            protocol::put_var_bytes(&mut frame, &payload);
            let _ = parse(&frame.freeze(), 1024);
        }
    }
}
