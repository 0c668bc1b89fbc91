//! The workbook the formula tests translate against. Tests only.

use crate::doc::calc::schema::{Sheet, Workbook};

/// Two sheets: "Sheet1" (rows r1..r10, cols c1..c5) and "Other sheet" (rows q1..q3).
pub(super) fn workbook() -> Workbook {
    let ids = |p: &str, n: usize| (1..=n).map(|i| format!("{p}{i}")).collect();
    Workbook {
        sheets: vec![
            Sheet {
                id: "s1".into(),
                name: "Sheet1".into(),
                rows: ids("r", 10),
                cols: ids("c", 5),
                ..Sheet::default()
            },
            Sheet {
                id: "s2".into(),
                name: "Other sheet".into(),
                rows: ids("q", 3),
                cols: ids("k", 3),
                ..Sheet::default()
            },
        ],
    }
}
