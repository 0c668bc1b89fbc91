//! The pad functions of the Etherpad API, each through the same paths as `/api/v1`: edits go
//! through the pad's room (`Hub::edit`, `service::import`), texts through the bounded export
//! path, revisions through `service::history`. A `padID` names a pad as migrated from Etherpad
//! (`DocName::foreign`: valid ardoise names unchanged), except for `createPad`, which refuses
//! an id that is not an ardoise name rather than create it under another one.

use bytes::Bytes;
use serde_json::{json, Value};

use crate::convert::pad::import::ImportFormat;
use crate::convert::pad::PadFormat;
use crate::doc::edit::TextEdit;
use crate::doc::meta::{DocMeta, Kind};
use crate::doc::name::DocName;
use crate::http::api::{self, DEFAULT_DELETE_REASON, MAX_LIST_LIMIT};
use crate::http::error::api::ApiError;
use crate::http::error::etherpad::EtherpadError;
use crate::http::etherpad_api::params::Params;
use crate::http::etherpad_api::read::{pad_parts, PadParts};
use crate::http::{AppError, AppState};
use crate::service::history::{self, Window};
use crate::service::{creation, export, import};

/// The pad functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    CreatePad,
    GetText,
    SetText,
    AppendText,
    GetHtml,
    SetHtml,
    DeletePad,
    ListAllPads,
    GetRevisionsCount,
    GetLastEdited,
    PadUsersCount,
    GetReadOnlyId,
    ListAuthorsOfPad,
    GetChatHistory,
    CheckToken,
}

/// Runs `call` with `params` (the key was checked); its `data`.
pub async fn run(state: &AppState, call: Call, params: &Params) -> Result<Value, EtherpadError> {
    match call {
        Call::CreatePad => create_pad(state, params).await,
        Call::GetText => {
            let (name, _) = pad(state, params).await?;
            let text = rendered(state, &name, params, PadFormat::Txt).await?;
            Ok(json!({ "text": text }))
        }
        Call::SetText => edit(state, params, TextEdit::Set).await,
        Call::AppendText => edit(state, params, TextEdit::Append).await,
        Call::GetHtml => {
            let (name, _) = pad(state, params).await?;
            let html = rendered(state, &name, params, PadFormat::Html).await?;
            Ok(json!({ "html": html }))
        }
        Call::SetHtml => set_html(state, params).await,
        Call::DeletePad => {
            let (name, _) = pad(state, params).await?;
            if state.hub.delete(&name, DEFAULT_DELETE_REASON).await? {
                Ok(Value::Null)
            } else {
                Err(AppError::NotFound.into())
            }
        }
        Call::ListAllPads => list_all_pads(state).await,
        Call::GetRevisionsCount => {
            let (name, _) = pad(state, params).await?;
            let page =
                history::revisions(&state.hub, &state.exports, &name, Window::Latest, 1).await?;
            let last = page.revisions.last().map_or(0, |r| r.rev);
            Ok(json!({ "revisions": last }))
        }
        Call::GetLastEdited => {
            let (_, meta) = pad(state, params).await?;
            Ok(json!({ "lastEdited": meta.last_edit.saturating_mul(1000) }))
        }
        Call::PadUsersCount => {
            let (name, _) = pad(state, params).await?;
            Ok(json!({ "padUsersCount": state.hub.live_connections(&name) }))
        }
        Call::GetReadOnlyId => {
            let (_, meta) = pad(state, params).await?;
            Ok(json!({ "readOnlyID": meta.read_token.as_str() }))
        }
        Call::ListAuthorsOfPad => {
            let parts = parts(state, params).await?;
            Ok(json!({ "authorIDs": parts.author_ids }))
        }
        Call::GetChatHistory => chat_history(state, params).await,
        Call::CheckToken => Ok(Value::Null),
    }
}

/// The `/api/v1` error inside an [`ApiError`], in this API's terms.
fn said(e: ApiError) -> EtherpadError {
    e.0.into()
}

/// The existing pad `padID` names, with its metadata.
async fn pad(state: &AppState, params: &Params) -> Result<(DocName, DocMeta), EtherpadError> {
    let name = params
        .get("padID")
        .and_then(DocName::foreign)
        .ok_or_else(|| EtherpadError::bad("padID is required"))?;
    let meta = api::pad_meta(state, &name).await.map_err(said)?;
    Ok((name, meta))
}

/// A text parameter Etherpad requires (`text`, `html`).
fn text<'a>(params: &'a Params, name: &str) -> Result<&'a str, EtherpadError> {
    params.required(name).map_err(EtherpadError::bad)
}

async fn create_pad(state: &AppState, params: &Params) -> Result<Value, EtherpadError> {
    let raw = params.required("padID").map_err(EtherpadError::bad)?;
    let name = DocName::parse(raw)
        .map_err(|e| EtherpadError::bad(format!("padID did not match requirements: {e}")))?;
    if state.hub.exists(&name).await? {
        return Err(AppError::Exists.into());
    }
    let lifetime = api::lifetime(&state.config, None).map_err(said)?;
    // Creation follows the shedding rule like every other creation.
    let new = creation::asked(Kind::Pad, lifetime, None);
    state.open_or_create(&name, new).await?;
    if let Some(text) = params.get("text").filter(|t| !t.is_empty()) {
        state
            .hub
            .edit(&name, TextEdit::Set(text.to_owned()))
            .await??;
    }
    Ok(Value::Null)
}

/// The pad as `format`, now or at revision `rev` when given.
async fn rendered(
    state: &AppState,
    name: &DocName,
    params: &Params,
    format: PadFormat,
) -> Result<String, EtherpadError> {
    // Etherpad's text and HTML are the content alone: no authors' shading or list.
    let options = api::plain_options();
    let bytes = match params.number("rev").map_err(EtherpadError::bad)? {
        None => api::render(state, name, format, options)
            .await
            .map_err(said)?,
        Some(rev) => {
            history::export_pad_version(&state.hub, &state.exports, name, rev, format, options)
                .await?
        }
    };
    String::from_utf8(bytes)
        .map_err(|_| AppError::Unproduced("the text could not be produced").into())
}

/// `setText` and `appendText`: one edit through the pad's room.
async fn edit(
    state: &AppState,
    params: &Params,
    edit: fn(String) -> TextEdit,
) -> Result<Value, EtherpadError> {
    let (name, _) = pad(state, params).await?;
    let text = text(params, "text")?.to_owned();
    state.hub.edit(&name, edit(text)).await??;
    Ok(Value::Null)
}

async fn set_html(state: &AppState, params: &Params) -> Result<Value, EtherpadError> {
    let (name, _) = pad(state, params).await?;
    let html = Bytes::copy_from_slice(text(params, "html")?.as_bytes());
    let imported = import::read_pad(&state.exports, &name, html, ImportFormat::Html).await?;
    import::into_pad(&state.hub, &name, imported).await?;
    Ok(Value::Null)
}

/// Every pad's name (not calcs), read a page at a time.
async fn list_all_pads(state: &AppState) -> Result<Value, EtherpadError> {
    let mut names = Vec::new();
    let mut after: Option<DocName> = None;
    loop {
        let page = state.hub.list("", after.as_ref(), MAX_LIST_LIMIT).await?;
        let full = page.len() == MAX_LIST_LIMIT;
        after = page.last().map(|d| d.name.clone());
        names.extend(
            page.into_iter()
                .filter(|d| d.meta.kind == Kind::Pad)
                .map(|d| d.name.as_str().to_owned()),
        );
        if !full {
            return Ok(json!({ "padIDs": names }));
        }
    }
}

/// The authors and chat of the pad `padID` names, read off the async workers.
async fn parts(state: &AppState, params: &Params) -> Result<PadParts, EtherpadError> {
    let (name, _) = pad(state, params).await?;
    let snapshot = state.hub.snapshot(&name).await?.ok_or(AppError::NotFound)?;
    let read = export::bounded(&state.exports, &name, "etherpad api read", move || {
        pad_parts(&snapshot).ok_or(())
    })
    .await?;
    read.map_err(|()| {
        tracing::error!(doc = %name, "a pad's authors and chat could not be read");
        AppError::Unproduced("the pad could not be read").into()
    })
}

/// `getChatHistory(padID[, start, end])`: the whole chat, or messages `start..=end` when both
/// are given (Etherpad's indices, 0 the oldest).
async fn chat_history(state: &AppState, params: &Params) -> Result<Value, EtherpadError> {
    let start = params.number("start").map_err(EtherpadError::bad)?;
    let end = params.number("end").map_err(EtherpadError::bad)?;
    if let (Some(start), Some(end)) = (start, end) {
        if start > end {
            return Err(EtherpadError::bad("start is higher than end"));
        }
    }
    let chat = parts(state, params).await?.chat;
    let messages = match (start, end) {
        (Some(start), Some(end)) => {
            let head = chat.len().checked_sub(1);
            let within = |i: u64| head.is_some_and(|h| i <= h as u64);
            if !within(start) {
                return Err(EtherpadError::bad(
                    "start is higher than the current chatHead",
                ));
            }
            if !within(end) {
                return Err(EtherpadError::bad(
                    "end is higher than the current chatHead",
                ));
            }
            // Both are within the chat, so they fit a usize.
            chat[start as usize..=end as usize].to_vec()
        }
        _ => chat,
    };
    Ok(json!({ "messages": messages }))
}
