//! The home page's upload form, `POST /import`: a new pad or calc from a file, by its extension
//! (pad formats first, so `.txt` is a pad), made through the pad or calc uploads' own paths.

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Redirect, Response};

use crate::convert::calc::CalcFormat;
use crate::convert::pad::import::ImportFormat;
use crate::doc::meta::{random_name, Kind};
use crate::doc::name::DocName;
use crate::http::calc_import::replace;
use crate::http::editor::editor_path;
use crate::http::extract::RequestLang;
use crate::http::upload::{read_upload, Upload};
use crate::http::{pad_import, AppError, AppState};

/// The calc files the home form takes by their extension; SocialCalc saves, ODS and XLSX are
/// also recognised by their first bytes whatever their name.
const CALC_EXTENSIONS: [&str; 4] = ["csv", "ods", "xlsx", "sc"];

/// What a file given to the home form becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NewDocument {
    Pad(ImportFormat),
    Calc(CalcFormat),
}

/// Every extension the home form takes, as its error says them.
fn accepted_extensions() -> String {
    let pads = ImportFormat::ALL.map(ImportFormat::extension);
    pads.iter()
        .chain(CALC_EXTENSIONS.iter())
        .map(|e| format!(".{e}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the file becomes, from its extension (pad formats first, so `.txt` is a pad), else
/// from its first bytes when they name a calc format; anything else is refused.
fn new_document(file_name: &str, bytes: &[u8]) -> Result<NewDocument, AppError> {
    if let Some(format) = ImportFormat::from_file_name(file_name) {
        return Ok(NewDocument::Pad(format));
    }
    let sniffed = CalcFormat::sniff(bytes, file_name);
    let extension = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase());
    if sniffed != CalcFormat::Csv
        || extension.is_some_and(|e| CALC_EXTENSIONS.contains(&e.as_str()))
    {
        return Ok(NewDocument::Calc(sniffed));
    }
    Err(AppError::BadFile(format!(
        "this kind of file cannot be imported; accepted files: {}",
        accepted_extensions()
    )))
}

/// The name the home form asks for, or a random one.
fn new_name(upload: &Upload) -> Result<DocName, AppError> {
    let raw = upload.name.trim();
    Ok(if raw.is_empty() {
        DocName::parse(&random_name())
    } else {
        DocName::parse(raw)
    }?)
}

/// `POST /import` (home page): a new pad or calc (named, or with a random name) from the
/// file, by its extension; a pad's answer is `pad_import`'s.
pub(crate) async fn new_from_file(
    State(state): State<AppState>,
    RequestLang(lang): RequestLang,
    request: Request,
) -> Response {
    let result = async {
        let upload = read_upload(&state, request).await?;
        let name = new_name(&upload)?;
        match new_document(&upload.file_name, &upload.bytes)? {
            NewDocument::Pad(format) => {
                pad_import::import(&state, &name, upload.bytes, format, true, None).await?;
                Ok::<_, AppError>(editor_path(Kind::Pad, &name, lang))
            }
            NewDocument::Calc(format) => {
                replace(&state, &name, upload.bytes, format, true).await?;
                Ok(editor_path(Kind::Calc, &name, lang))
            }
        }
    };
    match result.await {
        Ok(path) => Redirect::to(&path).into_response(),
        Err(e) => e.calc_page(&state, lang),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_home_form_takes_pads_by_extension_and_calcs_by_extension_or_content() {
        let pad = |f| NewDocument::Pad(f);
        assert_eq!(
            new_document("notes.txt", b"a,b").ok(),
            Some(pad(ImportFormat::Txt))
        );
        assert_eq!(
            new_document("Cours.MD", b"# x").ok(),
            Some(pad(ImportFormat::Md))
        );
        assert_eq!(
            new_document("a.htm", b"").ok(),
            Some(pad(ImportFormat::Html))
        );
        assert_eq!(
            new_document("a.docx", b"PK\x03\x04").ok(),
            Some(pad(ImportFormat::Docx))
        );
        assert_eq!(
            new_document("old.etherpad", b"{}").ok(),
            Some(pad(ImportFormat::Etherpad))
        );
        let calc = |f| NewDocument::Calc(f);
        assert_eq!(
            new_document("t.csv", b"a,1").ok(),
            Some(calc(CalcFormat::Csv))
        );
        assert_eq!(
            new_document("t.xlsx", b"PK\x03\x04").ok(),
            Some(calc(CalcFormat::Xlsx))
        );
        assert_eq!(
            new_document("save", b"socialcalc:version:1.0\n").ok(),
            Some(calc(CalcFormat::SocialCalc))
        );
        for refused in ["photo.png", "notes", "a.pdf"] {
            let e = new_document(refused, b"plain").expect_err(refused);
            assert!(
                e.to_string().contains(".md") && e.to_string().contains(".ods"),
                "{e}"
            );
        }
    }
}
