//! The room's decisions, one test each, without a runtime, a store or a connection.

use std::time::{Duration, Instant};

use yrs::updates::decoder::Decode;
use yrs::{Doc, GetString, Map, MapPrelim, MapRef, ReadTxn, StateVector, Text, Transact, Update};

use super::*;
use crate::doc::secret::CreatorSecret;
use crate::sync::awareness::Entry;
use crate::sync::room::Applied;

const LIMITS: Limits = Limits {
    max_doc_bytes: 1_000,
    checkpoint_after_updates: 10,
    checkpoint_after_bytes: 500,
};

fn meta(kind: Kind, lifetime: Lifetime, provisional: bool) -> DocMeta {
    DocMeta::new(
        NewDoc {
            kind,
            lifetime,
            creator: None,
            provisional,
        },
        1_000,
    )
}

/// A ledger for an existing pad that never expires.
fn pad() -> Ledger {
    Ledger {
        meta: Some(meta(Kind::Pad, Lifetime::Forever, false)),
        ..Ledger::default()
    }
}

/// What a client typing `text` at the end of `doc`'s content sends.
fn typed(doc: &Doc, text: &str) -> CheckedUpdate {
    let before = doc.transact().state_vector();
    let content = doc.get_or_insert_text("content");
    let mut txn = doc.transact_mut();
    let end = content.len(&txn);
    content.insert(&mut txn, end, text);
    checked(&txn.encode_state_as_update_v1(&before))
}

fn checked(update: &[u8]) -> CheckedUpdate {
    CheckedUpdate::decode(update).expect("a valid update")
}

fn update(checked: CheckedUpdate) -> Inbound {
    Inbound::Update(Box::new(checked))
}

/// Shared maps nested `depth` deep, as one update.
fn nested_maps(depth: usize) -> CheckedUpdate {
    let doc = Doc::new();
    let mut map: MapRef = doc.get_or_insert_map("root");
    let mut txn = doc.transact_mut();
    for _ in 0..depth {
        map = map.insert(&mut txn, "k", MapPrelim::default());
    }
    checked(&txn.encode_state_as_update_v1(&StateVector::default()))
}

#[test]
fn an_admitted_update_is_counted() {
    let mut ledger = pad();
    let up = typed(&Doc::new(), "hello");
    assert_eq!(ledger.admit(&up, &LIMITS), Ok(()));
    assert_eq!(ledger.doc_bytes, up.len);
    assert!(ledger.nesting.items() > 0, "its items are recorded");
}

#[test]
fn at_the_size_limit_only_deletions_are_admitted() {
    let doc = Doc::new();
    let mut ledger = pad();
    let first = typed(&doc, "abc");
    ledger.admit(&first, &LIMITS).expect("admitted");
    ledger.doc_bytes = LIMITS.max_doc_bytes;

    let more = typed(&doc, "d");
    let refused = ledger.admit(&more, &LIMITS).expect_err("past the limit");
    assert_eq!(refused, Refusal::TooBig("document size limit reached"));
    assert_eq!(refused.close().0, code::TOO_BIG);
    assert_eq!(ledger.doc_bytes, LIMITS.max_doc_bytes, "nothing counted");

    let before = doc.transact().state_vector();
    let content = doc.get_or_insert_text("content");
    content.remove_range(&mut doc.transact_mut(), 0, 1);
    let deletion = checked(&doc.transact().encode_state_as_update_v1(&before));
    assert_eq!(ledger.admit(&deletion, &LIMITS), Ok(()));
}

#[test]
fn types_nested_too_deep_are_refused_as_a_policy_violation() {
    let mut ledger = pad();
    let deep = nested_maps(crate::doc::nesting::MAX_TYPE_DEPTH as usize + 2);
    let refused = ledger.admit(&deep, &LIMITS).expect_err("too deep");
    assert_eq!(refused, Refusal::Shape(GuardError::TypesTooDeep));
    assert_eq!(
        refused.close(),
        (code::POLICY_VIOLATION, GuardError::TypesTooDeep.message())
    );
    assert_eq!(ledger.doc_bytes, 0);
    assert_eq!(ledger.nesting.items(), 0, "nothing recorded");
}

#[test]
fn a_read_only_connections_update_is_dropped() {
    let mut ledger = pad();
    let mut awareness = Awareness::default();
    let up = update(typed(&Doc::new(), "hi"));
    let heard = hear(
        &mut ledger,
        &mut awareness,
        &LIMITS,
        1,
        true,
        up,
        Instant::now(),
    );
    assert!(matches!(heard, Heard::Nothing));
    assert_eq!(ledger.doc_bytes, 0);
}

#[test]
fn a_writers_update_is_applied_and_a_refused_one_closes() {
    let mut ledger = pad();
    let mut awareness = Awareness::default();
    let now = Instant::now();
    let up = typed(&Doc::new(), "hi");
    let len = up.len;
    match hear(
        &mut ledger,
        &mut awareness,
        &LIMITS,
        1,
        false,
        update(up),
        now,
    ) {
        Heard::Update(_, counted) => assert_eq!(counted, len),
        other => panic!("expected an update, got {other:?}"),
    }
    let deep = update(nested_maps(40));
    let heard = hear(&mut ledger, &mut awareness, &LIMITS, 1, false, deep, now);
    assert!(matches!(
        heard,
        Heard::Refused(Refusal::Shape(GuardError::TypesTooDeep))
    ));
}

#[test]
fn sync_and_awareness_queries_are_answered_even_for_readers() {
    let mut ledger = pad();
    let mut awareness = Awareness::default();
    let now = Instant::now();
    let step1 = Inbound::Step1(StateVector::default());
    assert!(matches!(
        hear(&mut ledger, &mut awareness, &LIMITS, 1, true, step1, now),
        Heard::Step1(_)
    ));
    assert!(matches!(
        hear(
            &mut ledger,
            &mut awareness,
            &LIMITS,
            1,
            true,
            Inbound::QueryAwareness,
            now
        ),
        Heard::QueryAwareness
    ));
    let presence = Inbound::Awareness(vec![entry(7, 1)]);
    match hear(&mut ledger, &mut awareness, &LIMITS, 1, true, presence, now) {
        Heard::Awareness(changed) => assert_eq!(changed, vec![7]),
        other => panic!("expected an awareness change, got {other:?}"),
    }
}

fn entry(client: u64, clock: u64) -> Entry {
    Entry {
        client,
        clock,
        state: Some("{}".into()),
    }
}

#[test]
fn a_full_room_is_a_passing_state_and_other_awareness_refusals_are_not() {
    let full = Refusal::Awareness(AwarenessError::RoomFull);
    assert_eq!(full.close().0, code::TRY_AGAIN_LATER);
    let many = Refusal::Awareness(AwarenessError::TooManyClients);
    assert_eq!(
        many.close(),
        (
            code::POLICY_VIOLATION,
            AwarenessError::TooManyClients.reason()
        )
    );
}

#[test]
fn a_server_update_never_creates_and_respects_the_size_limit() {
    let doc = Doc::new();
    let mut missing = Ledger::default();
    assert_eq!(
        missing.admit_server(&typed(&doc, "a"), &LIMITS),
        ServerUpdate::Answer(Applied::Missing)
    );
    let mut ledger = pad();
    assert_eq!(
        ledger.admit_server(&typed(&doc, "b"), &LIMITS),
        ServerUpdate::Admitted
    );
    ledger.doc_bytes = LIMITS.max_doc_bytes;
    assert_eq!(
        ledger.admit_server(&typed(&doc, "c"), &LIMITS),
        ServerUpdate::Answer(Applied::TooBig)
    );
    let mut ledger = pad();
    assert_eq!(
        ledger.admit_server(&nested_maps(40), &LIMITS),
        ServerUpdate::Bug(GuardError::TypesTooDeep)
    );
}

#[test]
fn an_api_edit_needs_an_existing_pad_with_room() {
    assert_eq!(
        Ledger::default().check_edit(1, &LIMITS),
        Err(EditRefused::NotFound)
    );
    let calc = Ledger {
        meta: Some(meta(Kind::Calc, Lifetime::Forever, false)),
        ..Ledger::default()
    };
    assert_eq!(calc.check_edit(1, &LIMITS), Err(EditRefused::WrongKind));
    let mut ledger = pad();
    assert_eq!(ledger.check_edit(LIMITS.max_doc_bytes, &LIMITS), Ok(()));
    ledger.count(1);
    assert_eq!(
        ledger.check_edit(LIMITS.max_doc_bytes, &LIMITS),
        Err(EditRefused::TooBig)
    );
}

#[test]
fn writing_to_a_name_nobody_opened_creates_a_provisional_pad() {
    let lifetime = Lifetime::After(60);
    let new = Ledger::default()
        .implicit_creation(lifetime)
        .expect("a creation");
    assert_eq!(new.kind, Kind::Pad);
    assert_eq!(new.lifetime, lifetime);
    assert!(new.provisional);
    assert!(new.creator.is_none());
    assert!(pad().implicit_creation(lifetime).is_none());
}

#[test]
fn the_expiry_is_written_at_most_once_per_second_of_edits() {
    let mut ledger = Ledger {
        meta: Some(meta(Kind::Pad, Lifetime::After(60), false)),
        ..Ledger::default()
    };
    assert_eq!(ledger.touch(1_000), None, "created this second");
    let (bytes, expires) = ledger.touch(1_001).expect("a new second");
    assert_eq!(expires, Some(1_061));
    let stored = DocMeta::from_bytes(&bytes).expect("metadata");
    assert_eq!(stored.last_edit, 1_001);
    assert_eq!(ledger.touch(1_001), None);
    assert!(ledger.touch(1_002).is_some());
    assert_eq!(Ledger::default().touch(1_003), None, "no document");
}

#[test]
fn a_checkpoint_is_due_past_either_threshold() {
    let mut ledger = pad();
    assert!(!ledger.checkpoint_due(&LIMITS), "nothing logged");
    for seq in 1..LIMITS.checkpoint_after_updates as u64 {
        ledger.logged(seq, 1);
        assert!(!ledger.checkpoint_due(&LIMITS));
    }
    ledger.logged(10, 1);
    assert!(ledger.checkpoint_due(&LIMITS), "by count");
    assert_eq!(ledger.last_seq, 10);
    ledger.checkpointed(5);
    assert!(!ledger.checkpoint_due(&LIMITS));
    assert_eq!((ledger.doc_bytes, ledger.checkpoint_bytes), (5, 5));
    ledger.logged(11, LIMITS.checkpoint_after_bytes);
    assert!(ledger.checkpoint_due(&LIMITS), "by bytes");
}

#[test]
fn a_checkpoint_waits_for_a_log_as_heavy_as_the_last_one() {
    // A document of 10 kB: ten small edits pass the count threshold, not its weight.
    let mut ledger = Ledger {
        checkpoint_bytes: 10_000,
        ..pad()
    };
    for seq in 1..=LIMITS.checkpoint_after_updates as u64 {
        ledger.logged(seq, 100);
    }
    assert!(!ledger.checkpoint_due(&LIMITS), "1 kB of log after 10 kB");
    ledger.logged(11, 9_000);
    assert!(ledger.checkpoint_due(&LIMITS), "as heavy as the checkpoint");
    // So checkpoints never outweigh the log: each but the latest is paid for by as many log
    // bytes after it.
    let (mut log, mut checkpoints, mut last) = (0usize, 10_000usize, 10_000usize);
    let mut ledger = Ledger {
        checkpoint_bytes: 10_000,
        ..pad()
    };
    for seq in 1..=100_000u64 {
        ledger.logged(seq, 37);
        log += 37;
        if ledger.checkpoint_due(&LIMITS) {
            // The document grows with its log.
            let size = 10_000 + log / 2;
            ledger.checkpointed(size);
            checkpoints += size;
            last = size;
        }
    }
    assert!(checkpoints <= log + last, "{checkpoints} for {log}");
}

#[test]
fn an_updates_authors_are_the_clients_of_its_blocks() {
    let a = Doc::with_client_id(7);
    let text = a.get_or_insert_text("content");
    text.insert(&mut a.transact_mut(), 0, "hello");
    let before = a.transact().state_vector();
    text.insert(&mut a.transact_mut(), 5, "!");
    // A delta that starts past clock 0 still names its author.
    let delta = a.transact().encode_state_as_update_v1(&before);
    let mut clients = std::collections::BTreeSet::new();
    block_clients(&Update::decode_v1(&delta).expect("delta"), &mut clients);
    assert_eq!(clients.into_iter().collect::<Vec<_>>(), vec![7]);
    assert!(!deletes(&Update::decode_v1(&delta).expect("delta")));
    // A deletion carries no block: the room names the sender's awareness clients instead.
    let before = a.transact().state_vector();
    text.remove_range(&mut a.transact_mut(), 0, 2);
    let deletion =
        Update::decode_v1(&a.transact().encode_state_as_update_v1(&before)).expect("deletion");
    let mut clients = std::collections::BTreeSet::new();
    block_clients(&deletion, &mut clients);
    assert!(clients.is_empty());
    assert!(deletes(&deletion));
}

#[test]
fn author_names_are_read_once_and_again_when_they_change() {
    let doc = Doc::new();
    let authors = doc.get_or_insert_map("authors");
    authors.insert(
        &mut doc.transact_mut(),
        "7",
        Any::from(std::collections::HashMap::from([(
            "name".to_owned(),
            Any::from("Élève Un"),
        )])),
    );
    authors.insert(
        &mut doc.transact_mut(),
        "8",
        MapPrelim::from([("name", "Prof"), ("color", "#123456")]),
    );
    let mut known = KnownAuthors::default();
    let names = known.unrecorded(&doc, &[7, 8, 9]);
    assert_eq!(
        names,
        vec![(7, "Élève Un".to_owned()), (8, "Prof".to_owned())],
        "plain objects and nested maps; no name, nothing"
    );
    known.recorded(names);
    assert!(known.unrecorded(&doc, &[7, 8]).is_empty(), "recorded once");
    authors.insert(
        &mut doc.transact_mut(),
        "8",
        MapPrelim::from([("name", "Madame")]),
    );
    assert_eq!(
        known.unrecorded(&doc, &[7, 8]),
        vec![(8, "Madame".to_owned())]
    );
    // A name written after its client's first entry comes with the next entry, whoever's.
    authors.insert(
        &mut doc.transact_mut(),
        "9",
        MapPrelim::from([("name", "Tard")]),
    );
    assert_eq!(known.unrecorded(&doc, &[7]), vec![(9, "Tard".to_owned())]);
}

#[test]
fn a_delete_is_checked_against_the_current_metadata_first() {
    // Edited at 1 000 with a 60 s lifetime: expires at 1 060.
    let mut ledger = Ledger {
        meta: Some(meta(Kind::Pad, Lifetime::After(60), false)),
        ..Ledger::default()
    };
    assert_eq!(
        ledger.plan_delete(DeleteIf::ExpiredAt(1_059)),
        DeletePlan::Keep
    );
    assert!(ledger.meta.is_some(), "kept");
    let wrong = CreatorSecret::generate().hash();
    assert_eq!(
        ledger.plan_delete(DeleteIf::Creator(wrong)),
        DeletePlan::Keep
    );
    let expected = ledger.meta.clone().expect("meta");
    assert_eq!(
        ledger.plan_delete(DeleteIf::ExpiredAt(1_060)),
        DeletePlan::Erase(expected)
    );
    assert!(ledger.meta.is_none(), "the room holds no document any more");
}

#[test]
fn only_its_creator_deletes_a_document_by_secret() {
    let secret = CreatorSecret::generate();
    let mut m = meta(Kind::Pad, Lifetime::Forever, false);
    m.creator = Some(secret.hash());
    let mut ledger = Ledger {
        meta: Some(m.clone()),
        ..Ledger::default()
    };
    assert_eq!(
        ledger.plan_delete(DeleteIf::Creator(secret.hash())),
        DeletePlan::Erase(m)
    );
}

#[test]
fn deleting_nothing_closes_clients_only_when_unconditional() {
    let mut ledger = Ledger::default();
    assert_eq!(
        ledger.plan_delete(DeleteIf::ExpiredAt(u64::MAX)),
        DeletePlan::Keep
    );
    assert_eq!(ledger.plan_delete(DeleteIf::Always), DeletePlan::Gone);
}

#[test]
fn an_unload_writes_back_only_a_healthy_document_and_erases_only_outside_shutdown() {
    let all = Unload {
        persist: true,
        erase_if_untouched: true,
    };
    assert_eq!(unload(false, false, false), all);
    assert_eq!(
        unload(true, false, false),
        Unload {
            persist: true,
            erase_if_untouched: false
        }
    );
    let nothing = Unload {
        persist: false,
        erase_if_untouched: false,
    };
    assert_eq!(unload(false, true, false), nothing, "broken");
    assert_eq!(unload(false, false, true), nothing, "deleted");
}

#[test]
fn only_a_provisional_document_nobody_typed_into_is_erased_at_unload() {
    let provisional = Ledger {
        meta: Some(meta(Kind::Pad, Lifetime::Forever, true)),
        ..Ledger::default()
    };
    let fresh = Doc::new();
    assert!(provisional.erasable_at_unload(&fresh));
    assert!(!pad().erasable_at_unload(&fresh), "not provisional");
    assert!(!Ledger::default().erasable_at_unload(&fresh), "no document");

    let typed_into = Doc::new();
    typed(&typed_into, "x");
    assert!(!provisional.erasable_at_unload(&typed_into));
}

#[test]
fn a_document_emptied_after_typing_is_not_untouched() {
    let doc = Doc::new();
    assert!(untouched(&doc));
    typed(&doc, "x");
    let content = doc.get_or_insert_text("content");
    content.remove_range(&mut doc.transact_mut(), 0, 1);
    assert_eq!(content.get_string(&doc.transact()), "");
    assert!(!untouched(&doc));
}

#[test]
fn the_first_change_after_a_quiet_tick_goes_out_at_once_later_ones_at_its_end() {
    let tick = Duration::from_millis(50);
    let last = Instant::now();
    let quiet = last + tick;
    assert_eq!(
        flush_at(false, false, last, tick, quiet),
        FlushAt::Unchanged
    );
    assert_eq!(flush_at(true, false, last, tick, quiet), FlushAt::Now);
    let busy = last + Duration::from_millis(10);
    assert_eq!(
        flush_at(true, false, last, tick, busy),
        FlushAt::At(last + tick)
    );
    assert_eq!(
        flush_at(true, true, last, tick, busy),
        FlushAt::Unchanged,
        "already due"
    );
}

#[test]
fn the_unload_grace_starts_when_the_last_subscriber_leaves() {
    let t0 = Instant::now();
    let t1 = t0 + Duration::from_secs(1);
    assert_eq!(empty_since(true, None, t1), Some(t1));
    assert_eq!(empty_since(true, Some(t0), t1), Some(t0), "not restarted");
    assert_eq!(empty_since(false, Some(t0), t1), None);
}

#[test]
fn a_joiner_gets_step1_then_the_awareness_states() {
    let doc = Doc::new();
    typed(&doc, "hi");
    let mut awareness = Awareness::default();
    awareness
        .apply(3, vec![entry(9, 1)], Instant::now())
        .expect("applied");
    let (step1, states) = join_frames(&doc, &awareness);
    let sv = doc.transact().state_vector().encode_v1();
    assert_eq!(step1, protocol::sync_step1(&sv));
    assert_eq!(states, protocol::awareness(&awareness.encode_live()));
}

#[test]
fn a_new_clients_step2_is_encoded_once_per_document_state() {
    let doc = Doc::new();
    typed(&doc, "hello");
    let mut cache = FullState::default();
    let first = cache.answer(&doc, &StateVector::default());
    let again = cache.answer(&doc, &StateVector::default());
    assert_eq!(first.as_ptr(), again.as_ptr(), "the same encoding, shared");

    let known = doc.transact().state_vector();
    typed(&doc, " world");
    let lacking = cache.answer(&doc, &known);
    let diff = doc.transact().encode_state_as_update_v1(&known);
    assert_eq!(lacking, protocol::sync_step2(&diff), "only what it lacks");

    cache.clear();
    let fresh = cache.answer(&doc, &StateVector::default());
    let whole = doc
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    assert_eq!(fresh, protocol::sync_step2(&whole));
}

#[test]
fn one_awareness_frame_names_each_changed_client_once() {
    let mut awareness = Awareness::default();
    let now = Instant::now();
    awareness
        .apply(1, vec![entry(5, 1), entry(6, 1)], now)
        .expect("applied");
    let mut dirty = vec![6, 5, 6];
    let frame = awareness_frame(&awareness, &mut dirty).expect("a frame");
    assert_eq!(frame, protocol::awareness(&awareness.encode(&[5, 6])));
    assert!(dirty.is_empty());
    assert!(awareness_frame(&awareness, &mut dirty).is_none());
}

#[test]
fn a_ticks_deltas_leave_as_one_update() {
    let doc = Doc::new();
    let a = typed(&doc, "one ").update.encode_v1();
    let b = typed(&doc, "two").update.encode_v1();
    let merged = merge(vec![a.clone(), b]);
    assert_eq!(merged.len(), 1);
    let replica = Doc::new();
    replica
        .transact_mut()
        .apply_update(Update::decode_v1(&merged[0]).expect("decodes"))
        .expect("applies");
    let content = replica.get_or_insert_text("content");
    assert_eq!(content.get_string(&replica.transact()), "one two");
    assert_eq!(merge(vec![a.clone()]), vec![a], "one delta stays as it is");
}

#[test]
fn a_rooms_settings_are_read_from_the_configuration_once() {
    let config = Config::load_from([
        "ardoise",
        "--max-doc-bytes",
        "1234",
        "--compact-after-updates",
        "7",
        "--broadcast-tick-ms",
        "5000",
    ])
    .expect("config");
    let settings = RoomSettings::from_config(&config);
    assert_eq!(settings.limits.max_doc_bytes, 1234);
    assert_eq!(settings.limits.checkpoint_after_updates, 7);
    assert_eq!(
        settings.broadcast_tick,
        Duration::from_secs(1),
        "capped as the configuration caps it"
    );
}
