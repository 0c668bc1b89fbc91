//! A streaming pre-scan of every XML part of an upload, before any tree is built from it.
//!
//! roxmltree's tokenizer (which our ODS reader and IronCalc's XLSX reader both use) recurses
//! once per element level, so 20,000 nested `<text:span>` overflow a thread's stack and abort the
//! process; and a tree costs tens of bytes per node, so a small part of tiny elements, or a few
//! rows repeated a million times, takes gigabytes. This scan reads each part with quick-xml,
//! which keeps no tree and does not recurse: it refuses a part nested deeper than
//! [`MAX_XML_DEPTH`] or a package holding more than [`MAX_XML_ELEMENTS`] elements, and hands
//! every element to a [`Visitor`] that counts what the format's reader would make of it (cells,
//! formulas), so those budgets are checked before any reader runs.

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

use super::CalcIoError;

/// Deepest element nesting an uploaded XML part may have. Spreadsheet files nest about 10
/// levels (a styled run in a paragraph in a cell in a row in a table in the body); roxmltree
/// survives thousands on a 2 MiB stack.
pub const MAX_XML_DEPTH: usize = 100;

/// Most elements the XML parts of one package may hold altogether: about 4 per cell at
/// [`super::MAX_CELLS`], plus styles. With at most one text node between two tags and 40 to 60
/// bytes per roxmltree node, the trees of an import stay near 100 MiB at worst.
pub const MAX_XML_ELEMENTS: usize = 4 * super::MAX_CELLS + 200_000;

/// What a format's reader cares about in a part, seen element by element.
pub trait Visitor {
    /// An element opens (an empty element gets `start` then `end`).
    fn start(&mut self, element: &BytesStart<'_>, empty: bool) -> Result<(), CalcIoError>;
    /// The innermost open element closes; `local` is its name without prefix.
    fn end(&mut self, local: &str) -> Result<(), CalcIoError>;
    /// Character data of the innermost open element, entities resolved (may come in pieces).
    fn text(&mut self, _text: &str) {}
}

/// A part read only for its shape (depth and element count).
impl Visitor for () {
    fn start(&mut self, _: &BytesStart<'_>, _: bool) -> Result<(), CalcIoError> {
        Ok(())
    }
    fn end(&mut self, _: &str) -> Result<(), CalcIoError> {
        Ok(())
    }
}

/// The elements a package may still hold, shared by the scans of all its parts.
#[derive(Debug)]
pub struct ElementBudget(usize);

impl Default for ElementBudget {
    fn default() -> Self {
        ElementBudget(MAX_XML_ELEMENTS)
    }
}

/// Reads `xml` (the part named `part`) to its end without building anything, checking its depth
/// and the package's element budget, and shows every element to `visitor`.
pub fn scan(
    part: &str,
    xml: &[u8],
    budget: &mut ElementBudget,
    visitor: &mut impl Visitor,
) -> Result<(), CalcIoError> {
    let mut reader = Reader::from_reader(xml);
    let mut depth = 0usize;
    let invalid = |e: &dyn std::fmt::Display| {
        CalcIoError::Invalid(format!("{part} is not readable XML: {e}"))
    };
    loop {
        let event = reader.read_event().map_err(|e| invalid(&e))?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                budget.0 = budget.0.checked_sub(1).ok_or_else(|| {
                    CalcIoError::TooLarge(format!(
                        "the file holds more than {MAX_XML_ELEMENTS} XML elements"
                    ))
                })?;
                if !empty {
                    depth += 1;
                    if depth > MAX_XML_DEPTH {
                        return Err(CalcIoError::Invalid(format!(
                            "{part} nests elements more than {MAX_XML_DEPTH} levels deep"
                        )));
                    }
                }
                visitor.start(e, empty)?;
                if empty {
                    visitor.end(e.local_name().into_inner())?;
                }
            }
            Event::End(ref e) => {
                depth = depth.saturating_sub(1);
                visitor.end(e.local_name().into_inner())?;
            }
            Event::Text(ref t) => visitor.text(&t.xml10_content()),
            Event::CData(ref t) => visitor.text(&t.xml10_content()),
            Event::GeneralRef(ref r) => {
                match r.resolve_char_ref() {
                    Ok(Some(c)) => visitor.text(c.encode_utf8(&mut [0; 4])),
                    Ok(None) => visitor.text(resolve_predefined_entity(r).unwrap_or("")),
                    Err(e) => return Err(invalid(&e)),
                };
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if depth != 0 {
        return Err(invalid(&"an element is not closed"));
    }
    Ok(())
}

/// The value of attribute `local` (any prefix) of `element`, entities resolved.
pub fn attribute(element: &BytesStart<'_>, local: &str) -> Option<String> {
    element
        .attributes()
        .flatten()
        .find(|a| a.key.local_name().into_inner() == local)
        .map(|a| match a.normalized_value(XmlVersion::Implicit1_0) {
            Ok(v) => v.into_owned(),
            Err(_) => a.value.into_owned(),
        })
}

/// Whether `element` has an attribute named `local` (any prefix).
pub fn has_attribute(element: &BytesStart<'_>, local: &str) -> bool {
    element
        .attributes()
        .flatten()
        .any(|a| a.key.local_name().into_inner() == local)
}

/// A repeat count attribute (`table:number-rows-repeated`), at least 1.
pub fn repeat(element: &BytesStart<'_>, local: &str) -> u64 {
    attribute(element, local)
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(1)
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Count {
        starts: usize,
        ends: usize,
        text: String,
    }

    impl Visitor for Count {
        fn start(&mut self, _: &BytesStart<'_>, _: bool) -> Result<(), CalcIoError> {
            self.starts += 1;
            Ok(())
        }
        fn end(&mut self, _: &str) -> Result<(), CalcIoError> {
            self.ends += 1;
            Ok(())
        }
        fn text(&mut self, text: &str) {
            self.text.push_str(text);
        }
    }

    fn nested(levels: usize) -> String {
        format!("{}x{}", "<r>".repeat(levels), "</r>".repeat(levels))
    }

    #[test]
    fn refuses_deep_nesting_without_recursing() {
        let ok = nested(MAX_XML_DEPTH);
        let mut count = Count::default();
        scan(
            "a.xml",
            ok.as_bytes(),
            &mut ElementBudget::default(),
            &mut count,
        )
        .unwrap();
        assert_eq!((count.starts, count.ends), (MAX_XML_DEPTH, MAX_XML_DEPTH));
        // Far deeper than any recursive reader survives: the scan itself must not recurse.
        let deep = nested(1_000_000);
        let err = scan(
            "a.xml",
            deep.as_bytes(),
            &mut ElementBudget::default(),
            &mut Count::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("levels deep"), "{err}");
    }

    #[test]
    fn counts_elements_across_parts_and_resolves_text() {
        let mut budget = ElementBudget(3);
        let mut count = Count::default();
        scan(
            "a.xml",
            b"<a>x &amp; &#x41;<b/></a>",
            &mut budget,
            &mut count,
        )
        .unwrap();
        assert_eq!(count.text, "x & A");
        assert_eq!((count.starts, count.ends), (2, 2));
        scan("b.xml", b"<a/>", &mut budget, &mut count).unwrap();
        let err = scan("c.xml", b"<a/>", &mut budget, &mut count).unwrap_err();
        assert!(matches!(err, CalcIoError::TooLarge(_)), "{err}");
        let err = scan(
            "d.xml",
            b"<a><b></a>",
            &mut ElementBudget::default(),
            &mut count,
        );
        assert!(matches!(err, Err(CalcIoError::Invalid(_))));
    }

    /// XML of random shape: `0` opens an element, `1` closes the innermost, `2` adds an empty
    /// element, `3` text with an entity; all still open are closed at the end.
    fn shaped(ops: &[u8]) -> (String, usize) {
        let (mut xml, mut depth, mut deepest) = (String::from("<root>"), 1usize, 1usize);
        for op in ops {
            match op {
                0 => {
                    xml.push_str("<s>");
                    depth += 1;
                    deepest = deepest.max(depth);
                }
                1 if depth > 1 => {
                    xml.push_str("</s>");
                    depth -= 1;
                }
                2 => xml.push_str("<e a=\"&lt;\"/>"),
                _ => xml.push_str("t&amp;"),
            }
        }
        xml.push_str(&"</s>".repeat(depth - 1));
        xml.push_str("</root>");
        (xml, deepest)
    }

    proptest::proptest! {
        #[test]
        fn any_shape_is_measured_without_recursing(
            ops in proptest::collection::vec(proptest::prelude::prop_oneof![
                6 => proptest::prelude::Just(0u8),
                1 => proptest::prelude::Just(1u8),
                1 => proptest::prelude::Just(2u8),
                1 => proptest::prelude::Just(3u8),
            ], 0..400)
        ) {
            let (xml, deepest) = shaped(&ops);
            let result = scan("p.xml", xml.as_bytes(), &mut ElementBudget::default(), &mut ());
            if deepest > MAX_XML_DEPTH {
                proptest::prop_assert!(matches!(result, Err(CalcIoError::Invalid(ref m)) if m.contains("levels deep")));
            } else {
                proptest::prop_assert!(result.is_ok(), "{:?}", result);
            }
        }
    }
}
