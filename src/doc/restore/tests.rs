use super::*;
use crate::doc::calc::schema::{self, Axis};
use crate::doc::calc::Input;
use std::sync::{Arc, Mutex};
use yrs::GetString;

/// A server-side live document, as a room holds one.
fn live_doc() -> Doc {
    Doc::with_client_id(1000)
}

/// Makes an edit on `doc` as client `client` (a browser with that clientID).
fn as_client(doc: &Doc, client: u64, edit: impl FnOnce(&mut TransactionMut, &TextRef)) {
    let peer = Doc::with_client_id(client);
    copy_into(doc, &peer);
    let sv = doc.transact().state_vector();
    {
        let mut txn = peer.transact_mut();
        let text = txn.get_or_insert_text(CONTENT);
        edit(&mut txn, &text);
    }
    let update = peer.transact().encode_diff_v1(&sv);
    doc.transact_mut()
        .apply_update(Update::decode_v1(&update).unwrap())
        .unwrap();
}

fn copy_into(from: &Doc, to: &Doc) {
    let update = from
        .transact()
        .encode_state_as_update_v1(&to.transact().state_vector());
    to.transact_mut()
        .apply_update(Update::decode_v1(&update).unwrap())
        .unwrap();
}

/// A version: a fresh document with `doc`'s state, as history rebuilds one.
fn version(doc: &Doc) -> Doc {
    let copy = Doc::new();
    copy_into(doc, &copy);
    copy
}

fn join(doc: &Doc, client: u64, id: &str, name: &str, color: &str) {
    let entry = Any::from(HashMap::from([
        ("id".to_owned(), Any::from(id)),
        ("name".to_owned(), Any::from(name)),
        ("color".to_owned(), Any::from(color)),
    ]));
    let authors = doc.get_or_insert_map(AUTHORS);
    authors.insert(&mut doc.transact_mut(), client.to_string(), entry);
}

fn attrs(pairs: &[(&str, Any)]) -> Attrs {
    pairs
        .iter()
        .map(|(k, v)| (Arc::from(*k), v.clone()))
        .collect()
}

fn content(doc: &Doc) -> String {
    doc.get_or_insert_text(CONTENT).get_string(&doc.transact())
}

/// The text unit by unit: character, attributes and the author `id` its clientID maps to.
fn rich(doc: &Doc) -> Vec<(Piece, Attrs, Option<String>)> {
    let units = read_units(doc, &doc.get_or_insert_text(CONTENT));
    let txn = doc.transact();
    let authors = txn.get_map(AUTHORS);
    units
        .units
        .iter()
        .map(|u| {
            let author =
                u.client()
                    .and_then(|c| match authors.as_ref()?.get(&txn, &c.to_string())? {
                        Out::Any(Any::Map(m)) => m.get("id").map(|id| id.to_string()),
                        _ => None,
                    });
            (u.piece.clone(), units.attrs[u.attrs].clone(), author)
        })
        .collect()
}

fn ids(doc: &Doc) -> Vec<Option<ID>> {
    read_units(doc, &doc.get_or_insert_text(CONTENT))
        .units
        .iter()
        .map(|u| u.id)
        .collect()
}

fn clients(doc: &Doc) -> BTreeSet<u64> {
    read_units(doc, &doc.get_or_insert_text(CONTENT))
        .units
        .iter()
        .filter_map(Unit::client)
        .collect()
}

/// Counts the updates `doc` emits from now on.
fn count_updates(doc: &Doc) -> Arc<Mutex<usize>> {
    let n = Arc::new(Mutex::new(0));
    let seen = n.clone();
    doc.observe_update_v1("test", move |_, _| *seen.lock().unwrap() += 1)
        .unwrap();
    n
}

/// Alice writes a formatted title and a line, Bob adds to it.
fn classroom_pad() -> Doc {
    let doc = live_doc();
    join(&doc, 1, "alice-id", "Alice", "#e11d48");
    join(&doc, 2, "bob-id", "Bob", "#2563eb");
    as_client(&doc, 1, |txn, text| {
        text.insert(txn, 0, "Titre\nLe chat dort.\n");
        text.format(txn, 5, 1, attrs(&[("header", Any::from(1))]));
        text.format(txn, 7, 4, attrs(&[("bold", Any::Bool(true))]));
    });
    as_client(&doc, 2, |txn, text| {
        text.insert_with_attributes(txn, 19, " Vraiment", Attrs::new());
        text.insert_with_attributes(
            txn,
            28,
            " ici",
            attrs(&[("link", Any::from("https://example.org"))]),
        );
    });
    doc
}

#[test]
fn select_all_and_delete_is_undone_with_formatting_and_authors() {
    let live = classroom_pad();
    let before = version(&live);
    let typed = rich(&before);
    assert!(typed.iter().any(|(_, a, _)| a.contains_key("bold")));
    assert!(typed.iter().all(|(_, _, author)| author.is_some()));
    join(&live, 3, "vandal-id", "Vandal", "#000000");
    as_client(&live, 3, |txn, text| {
        let len = text.len(txn);
        text.remove_range(txn, 0, len);
    });
    assert_eq!(content(&live), "");
    restore(&live, &before).unwrap();
    assert_eq!(content(&live), content(&before));
    assert_eq!(rich(&live), typed, "characters, attributes and authors");
    // Re-typed by fresh clients: one per author, none of the old ones.
    let now = clients(&live);
    assert_eq!(now.len(), 2, "{now:?}");
    assert!(now.iter().all(|c| ![1, 2, 3, 1000].contains(c)));
}

#[test]
fn vandalism_in_the_middle_keeps_untouched_items() {
    let live = classroom_pad();
    let before = version(&live);
    let kept_ids = ids(&live);
    as_client(&live, 3, |txn, text| {
        // "chat" becomes "CHIEN", and the title loses its bold-free look.
        text.remove_range(txn, 10, 4);
        text.insert(txn, 10, "CHIEN");
        text.format(txn, 0, 5, attrs(&[("italic", Any::Bool(true))]));
    });
    restore(&live, &before).unwrap();
    assert_eq!(rich(&live), rich(&before));
    let after = ids(&live);
    for (k, (old, new)) in kept_ids.iter().zip(&after).enumerate() {
        if (10..14).contains(&k) {
            assert_ne!(old, new, "the deleted word is re-typed");
        } else {
            assert_eq!(old, new, "unit {k} keeps its item");
        }
    }
}

#[test]
fn astral_characters_and_embeds_survive() {
    let live = live_doc();
    join(&live, 1, "alice-id", "Alice", "#e11d48");
    as_client(&live, 1, |txn, text| {
        text.insert(txn, 0, "ça 👋 va 🎉 bien\n");
        let image = HashMap::from([("image".to_owned(), Any::from("https://example.org/a.png"))]);
        text.insert_embed(txn, 3, Any::from(image));
        text.insert_embed(txn, 0, Any::from("raw"));
    });
    let before = version(&live);
    let kept_ids = ids(&live);
    as_client(&live, 3, |txn, text| {
        // Delete "va" (after the embeds and the emoji: byte offsets 11..13), then the
        // image.
        text.remove_range(txn, 11, 2);
        text.remove_range(txn, 4, 1);
    });
    assert_ne!(rich(&live), rich(&before));
    restore(&live, &before).unwrap();
    assert_eq!(rich(&live), rich(&before));
    let after = ids(&live);
    let units = read_units(&live, &live.get_or_insert_text(CONTENT)).units;
    for (k, unit) in units.iter().enumerate() {
        if let Piece::Char(c) = unit.piece {
            if c != 'v' && c != 'a' || k < 6 {
                assert_eq!(kept_ids[k], after[k], "{c:?} keeps its item");
            }
        }
    }
}

#[test]
fn authors_past_the_cap_are_retyped_uncoloured() {
    let live = live_doc();
    let n = MAX_AUTHOR_GROUPS as u64 + 3;
    for client in 1..=n {
        join(&live, client, &format!("id-{client}"), "Élève", "#123456");
        as_client(&live, client, |txn, text| {
            let end = text.len(txn);
            text.insert(txn, end, "ab");
        });
    }
    let before = version(&live);
    as_client(&live, 999, |txn, text| {
        let len = text.len(txn);
        text.remove_range(txn, 0, len);
    });
    restore(&live, &before).unwrap();
    assert_eq!(content(&live), content(&before));
    let authors: Vec<Option<String>> = rich(&live).into_iter().map(|(_, _, a)| a).collect();
    let coloured = authors.iter().filter(|a| a.is_some()).count();
    assert_eq!(coloured, 2 * MAX_AUTHOR_GROUPS, "{authors:?}");
    assert_eq!(clients(&live).len(), MAX_AUTHOR_GROUPS + 1);
}

#[test]
fn restoring_the_later_version_undoes_a_restore() {
    let live = classroom_pad();
    let first = version(&live);
    as_client(&live, 3, |txn, text| {
        text.remove_range(txn, 0, 6);
        text.insert(txn, 0, "Brouillon\n");
    });
    let vandalised = version(&live);
    restore(&live, &first).unwrap();
    assert_eq!(rich(&live), rich(&first));
    let restored = version(&live);
    restore(&live, &vandalised).unwrap();
    assert_eq!(rich(&live), rich(&vandalised), "the restore is undone");
    restore(&live, &restored).unwrap();
    assert_eq!(rich(&live), rich(&first), "and redone");
}

#[test]
fn restoring_the_live_state_changes_nothing() {
    let live = classroom_pad();
    let same = version(&live);
    let updates = count_updates(&live);
    restore(&live, &same).unwrap();
    assert_eq!(*updates.lock().unwrap(), 0, "no update for a no-op restore");

    restore(&live, &live).unwrap();
    assert_eq!(*updates.lock().unwrap(), 0, "nor for the document itself");

    let calc = live_doc();
    {
        let mut txn = calc.transact_mut();
        schema::ensure_first_sheet(&mut txn);
        schema::set_input(&mut txn, "s1", "r1", "c1", Some(&Input::Number(4.0))).unwrap();
    }
    let same = version(&calc);
    let updates = count_updates(&calc);
    restore(&calc, &same).unwrap();
    assert_eq!(*updates.lock().unwrap(), 0);
}

#[test]
fn chat_is_kept_and_authors_only_grow() {
    let live = classroom_pad();
    let before = version(&live);
    let chat = live.get_or_insert_array("chat");
    chat.push_back(&mut live.transact_mut(), "on restaure ?");
    join(&live, 9, "late-id", "Late", "#00ff00");
    as_client(&live, 9, |txn, text| text.insert(txn, 0, "X"));
    restore(&live, &before).unwrap();
    assert_eq!(rich(&live), rich(&before));
    assert_eq!(chat.len(&live.transact()), 1, "the conversation stays");
    let authors = live.get_or_insert_map(AUTHORS);
    assert!(authors.get(&live.transact(), "9").is_some());
}

fn calc_with_rows() -> Doc {
    let doc = live_doc();
    let mut txn = doc.transact_mut();
    schema::ensure_first_sheet(&mut txn);
    for (row, n) in [("r1", 3.0), ("r2", 1.0), ("r3", 2.0), ("r4", 5.0)] {
        schema::set_input(&mut txn, "s1", row, "c1", Some(&Input::Number(n))).unwrap();
    }
    schema::set_input(
        &mut txn,
        "s1",
        "r6",
        "c1",
        Some(&Input::Text("=SUM(A1:A4)".into())),
    )
    .unwrap();
    drop(txn);
    doc
}

#[test]
fn a_sort_and_a_deleted_row_come_back() {
    let live = calc_with_rows();
    let before = version(&live);
    {
        let mut txn = live.transact_mut();
        let order: Vec<String> = ["r2", "r3", "r1", "r4"]
            .into_iter()
            .map(str::to_owned)
            .chain((5..=schema::DEFAULT_ROWS).map(|i| format!("r{i}")))
            .collect();
        schema::reorder(&mut txn, "s1", Axis::Rows, &order).unwrap();
        schema::delete(&mut txn, "s1", Axis::Rows, 3, 1).unwrap();
        schema::set_input(&mut txn, "s1", "r2", "c2", Some(&Input::Text("x".into()))).unwrap();
        schema::add_sheet(&mut txn, "Autre");
    }
    assert_ne!(
        schema::read(&live.transact()),
        schema::read(&before.transact())
    );
    restore(&live, &before).unwrap();
    assert_eq!(
        schema::read(&live.transact()),
        schema::read(&before.transact())
    );
    let rows = |doc: &Doc| -> Vec<String> {
        let txn = doc.transact();
        schema::read(&txn).sheets[0].rows.clone()
    };
    assert_eq!(rows(&live), rows(&before));
}

#[test]
fn myers_finds_a_longest_common_subsequence() {
    let lcs = |a: &str, b: &str, max_d| {
        let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
        myers(a.len(), b.len(), |i, j| a[i] == b[j], max_d)
            .map(|pairs| pairs.iter().map(|&(i, _)| a[i]).collect::<String>())
    };
    assert_eq!(lcs("ABCABBA", "CBABAC", 10).unwrap().len(), 4);
    assert_eq!(lcs("abc", "abc", 0).as_deref(), Some("abc"));
    assert_eq!(lcs("", "xyz", 3).as_deref(), Some(""));
    assert_eq!(lcs("le chat", "le chien", 10).as_deref(), Some("le ch"));
    assert_eq!(lcs("abcdef", "uvwxyz", 5), None, "past the cap");
}

#[test]
fn myers_agrees_with_dynamic_programming() {
    // A small deterministic generator: strings over a 3-letter alphabet.
    let mut seed = 0x2545_f491_u64;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for _ in 0..300 {
        let (la, lb) = (next(12), next(12));
        let a: Vec<u8> = (0..la).map(|_| b"abc"[next(3) as usize]).collect();
        let b: Vec<u8> = (0..lb).map(|_| b"abc"[next(3) as usize]).collect();
        let mut dp = vec![vec![0usize; b.len() + 1]; a.len() + 1];
        for i in (0..a.len()).rev() {
            for j in (0..b.len()).rev() {
                dp[i][j] = if a[i] == b[j] {
                    dp[i + 1][j + 1] + 1
                } else {
                    dp[i + 1][j].max(dp[i][j + 1])
                };
            }
        }
        let pairs = myers(a.len(), b.len(), |i, j| a[i] == b[j], 64).unwrap();
        assert_eq!(pairs.len(), dp[0][0], "{a:?} {b:?}");
        assert!(pairs.iter().all(|&(i, j)| a[i] == b[j]));
        assert!(pairs.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1));
    }
}

#[test]
fn text_retyped_by_the_same_client_is_kept() {
    let live = live_doc();
    join(&live, 1, "alice-id", "Alice", "#e11d48");
    as_client(&live, 1, |txn, text| text.insert(txn, 0, "un deux trois\n"));
    let before = version(&live);
    // Alice deletes it all and types it back with two words changed: the unchanged
    // middle word is found by the Myers diff of the gap.
    as_client(&live, 1, |txn, text| {
        let len = text.len(txn);
        text.remove_range(txn, 0, len);
        text.insert(txn, 0, "UN deux TROIS\n");
    });
    let retyped = ids(&live);
    restore(&live, &before).unwrap();
    assert_eq!(rich(&live), rich(&before));
    let after = ids(&live);
    for k in [2, 3, 4, 5, 6, 7, 13] {
        assert_eq!(retyped[k], after[k], "unit {k} is Alice's already");
    }
}

#[test]
fn longest_increasing_keeps_the_most() {
    let pairs = [(0, 2), (1, 0), (2, 1), (3, 3), (4, 4)];
    assert_eq!(
        longest_increasing(&pairs),
        vec![(1, 0), (2, 1), (3, 3), (4, 4)]
    );
    assert!(longest_increasing(&[]).is_empty());
}

#[test]
fn a_hundred_kilobyte_pad_is_restored() {
    let live = live_doc();
    let line = "Une ligne de texte assez longue pour un cours de français.\n";
    for author in 1..=20u64 {
        join(&live, author, &format!("id-{author}"), "Élève", "#123456");
        as_client(&live, author, |txn, text| {
            let end = text.len(txn);
            text.insert(txn, end, &line.repeat(85));
        });
    }
    assert!(content(&live).len() >= 100_000);
    let before = version(&live);
    as_client(&live, 99, |txn, text| {
        text.remove_range(txn, 40_000, 20_000);
        text.insert(txn, 1000, "vandale");
    });
    restore(&live, &before).unwrap();
    assert_eq!(rich(&live), rich(&before));
    as_client(&live, 99, |txn, text| {
        let len = text.len(txn);
        text.remove_range(txn, 0, len);
    });
    restore(&live, &before).unwrap();
    assert_eq!(rich(&live), rich(&before));
    // Restoring the same version again changes nothing: the re-typed text has fresh
    // clients, but their authors entries are the originals'.
    let updates = count_updates(&live);
    restore(&live, &before).unwrap();
    assert_eq!(*updates.lock().unwrap(), 0);
}
