//! The OpenAPI 3.1 description of the API, written by hand as JSON: eighteen small endpoints do
//! not justify a derive framework, and a unit test keeps it equal to the route table.

use serde_json::{json, Value};

use crate::config::Config;
use crate::convert::pad::import::ImportFormat;

use super::{MAX_LIST_LIMIT, PREFIX};
use crate::service::history::{DEFAULT_LIMIT as DEFAULT_REVISIONS, MAX_LIMIT as MAX_REVISIONS};

/// A path parameter.
fn param(name: &str, description: &str) -> Value {
    json!({
        "name": name, "in": "path", "required": true, "description": description,
        "schema": { "type": "string" }
    })
}

fn name_param() -> Value {
    json!({
        "name": "name", "in": "path", "required": true,
        "description": "Document name: 1–100 characters of [A-Za-z0-9_.-], case-sensitive.",
        "schema": { "$ref": "#/components/schemas/Name" }
    })
}

/// A query parameter.
fn query(name: &str, description: &str, schema: Value) -> Value {
    json!({ "name": name, "in": "query", "required": false, "description": description, "schema": schema })
}

/// A JSON response with `schema`.
fn json_response(description: &str, schema: Value) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": schema } } })
}

fn schema(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// The error responses an operation may answer, by status.
fn errors(statuses: &[u16]) -> Vec<(String, Value)> {
    statuses
        .iter()
        .map(|s| {
            let what = match s {
                400 => "Invalid name, parameter or body",
                401 => "Missing or wrong API key",
                404 => "No such document (or format)",
                409 => "Conflict: the name exists, or the document is not a pad",
                413 => "Body larger than api_max_body_bytes, or document past max_doc_bytes",
                503 => {
                    "Creation closed under load, storage unavailable or shutting down (Retry-After)"
                }
                _ => "Error",
            };
            (s.to_string(), json_response(what, schema("Error")))
        })
        .collect()
}

/// An operation with its success response and error statuses.
fn op(summary: &str, params: Vec<Value>, ok: (&str, Value), errs: &[u16]) -> Value {
    let mut responses = serde_json::Map::new();
    responses.insert(ok.0.to_owned(), ok.1);
    for (status, response) in errors(errs) {
        responses.insert(status, response);
    }
    json!({ "summary": summary, "parameters": params, "responses": responses })
}

/// The parameters of a file download: the name, `before` (e.g. a revision), the format and
/// the export options.
fn file_params(before: &[Value]) -> Vec<Value> {
    let mut params = vec![name_param()];
    params.extend_from_slice(before);
    params.extend([
        param(
            "format",
            "a pad: txt, md, html, odt or docx; a calc: csv, ods, xlsx or html",
        ),
        query(
            "sheet",
            "a calc's CSV: the sheet, 1-based number or name (the first by default)",
            json!({ "type": "string" }),
        ),
        query(
            "colors",
            "0 drops the authors' colours",
            json!({ "type": "string" }),
        ),
        query(
            "authors",
            "0 drops the authors list",
            json!({ "type": "string" }),
        ),
    ]);
    params
}

/// The success response of a file download, in every format a document exports to.
fn file_response() -> Value {
    json!({ "description": "The file", "content": {
        "text/plain": {}, "text/markdown": {}, "text/html": {},
        "text/csv": {}, "application/vnd.oasis.opendocument.spreadsheet": {},
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
        "application/vnd.oasis.opendocument.text": {},
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document": {}
    } })
}

fn with_body(mut operation: Value, body: Value) -> Value {
    operation["requestBody"] =
        json!({ "required": true, "content": { "application/json": { "schema": body } } });
    operation
}

/// `POST /documents/{name}/import`: a file as the raw body makes a pad's content.
fn import_op(config: &Config) -> Value {
    let formats = ImportFormat::ALL.map(ImportFormat::extension);
    let lifetimes: Vec<String> = config
        .retention_choices
        .iter()
        .map(|l| l.to_string())
        .collect();
    let mut operation = op(
        "Replace a pad's content with a file (txt, md, html, odt, docx, or an Etherpad export); \
         live editors see it at once and the previous content stays a revision",
        vec![
            name_param(),
            query(
                "format",
                "The file's format; without it, from the Content-Type (text/plain, text/markdown, \
                 text/html, ODT, DOCX)",
                json!({ "type": "string", "enum": formats }),
            ),
            query(
                "create",
                "true: create the pad when it does not exist (creation follows the server's load \
                 shedding)",
                json!({ "type": "string", "enum": ["true", "false"], "default": "false" }),
            ),
            query(
                "lifetime",
                "A new pad's lifetime: one of the offered choices",
                json!({ "type": "string", "enum": lifetimes,
                    "default": config.retention_default.to_string() }),
            ),
        ],
        (
            "200",
            json_response("Imported into the existing pad", schema("Imported")),
        ),
        &[400, 401, 404, 409, 413, 503],
    );
    operation["responses"]["201"] =
        json_response("The pad was created from the file", schema("Imported"));
    operation["requestBody"] = json!({ "required": true, "description": "The file itself, up to max_import_bytes",
        "content": { "application/octet-stream": {}, "text/plain": {}, "text/markdown": {},
            "text/html": {}, "application/vnd.oasis.opendocument.text": {},
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document": {} } });
    operation
}

/// The answer of an import.
fn imported_schema() -> Value {
    let count = json!({ "type": "integer", "minimum": 0 });
    json!({
        "type": "object", "required": ["name", "rev", "dropped", "created"],
        "properties": {
            "name": { "type": "string" },
            "rev": { "type": "integer", "description": "The revision the import made" },
            "created": { "type": "boolean" },
            "dropped": { "type": "object", "description": "What the file held that a pad cannot: left out",
                "properties": { "images": count, "links": count, "other": count } }
        }
    })
}

/// The document served at `/api/v1/openapi.json`.
pub fn document(config: &Config) -> Value {
    let server = format!("{}{PREFIX}", config.base_path.as_str());
    let text_body = json!({
        "type": "object", "required": ["text"], "additionalProperties": false,
        "properties": { "text": { "type": "string" } }
    });
    let edited = json!({
        "type": "object", "required": ["name", "last_edit"],
        "properties": { "name": { "type": "string" }, "last_edit": { "type": "integer" } }
    });
    let export_params = || {
        vec![
            name_param(),
            query(
                "colors",
                "0 drops the authors' colours",
                json!({ "type": "string" }),
            ),
            query(
                "authors",
                "0 drops the authors list",
                json!({ "type": "string" }),
            ),
        ]
    };
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "ardoise HTTP API",
            "version": "1",
            "description": "Create, read, edit, export and delete pads and calcs, and browse, \
                export and restore their revisions. Every call except this \
                document needs `Authorization: Bearer <key>`. Errors are JSON \
                `{\"error\": code, \"message\": text}`. Times are seconds since the Unix epoch."
        },
        "servers": [ { "url": server } ],
        "security": [ { "bearer": [] } ],
        "paths": {
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "security": [],
                    "responses": { "200": { "description": "OpenAPI 3.1 document",
                        "content": { "application/json": {} } } }
                }
            },
            "/documents": {
                "get": op("List stored documents in name order, a page at a time",
                    vec![
                        query("prefix", "Only names starting with this", json!({ "type": "string" })),
                        query("after", "Cursor: the `next` of the previous page", json!({ "type": "string" })),
                        query("limit", "Page size", json!({ "type": "integer", "minimum": 1,
                            "maximum": MAX_LIST_LIMIT, "default": 100 })),
                    ],
                    ("200", json_response("A page of documents; `next` is null on the last page", schema("DocumentList"))),
                    &[400, 401, 503]),
                "post": with_body(op("Create a document (name optional: random if absent)",
                    vec![],
                    ("201", json_response("The new document", schema("Document"))),
                    &[400, 401, 409, 413, 503]),
                    schema("CreateDocument")),
            },
            "/documents/{name}": {
                "get": op("A document's metadata and links", vec![name_param()],
                    ("200", json_response("The document", schema("Document"))), &[400, 401, 404, 503]),
                "delete": op("Erase a document now; live editors are disconnected (close 4410) with the reason",
                    vec![name_param(), query("reason", "Shown to live editors", json!({ "type": "string" }))],
                    ("200", json_response("Deleted", json!({ "type": "object",
                        "properties": { "deleted": { "type": "string" } } }))),
                    &[400, 401, 404, 503]),
            },
            "/documents/{name}/text": {
                "get": op("The plain text of a pad", vec![name_param()],
                    ("200", json_response("The text", json!({ "type": "object",
                        "properties": { "text": { "type": "string" } } }))),
                    &[400, 401, 404, 409, 503]),
                "put": with_body(op("Replace the text of a pad (only the part that differs is rewritten); live editors see it at once",
                    vec![name_param()], ("200", json_response("Persisted", edited.clone())),
                    &[400, 401, 404, 409, 413, 503]), text_body.clone()),
            },
            "/documents/{name}/append": {
                "post": with_body(op("Append plain text at the end of a pad; live editors see it at once",
                    vec![name_param()], ("200", json_response("Persisted", edited)),
                    &[400, 401, 404, 409, 413, 503]), text_body),
            },
            "/documents/{name}/html": {
                "get": op("A pad as one standalone HTML document", export_params(),
                    ("200", json_response("The HTML", json!({ "type": "object",
                        "properties": { "html": { "type": "string" } } }))),
                    &[400, 401, 404, 409, 503]),
            },
            "/documents/{name}/import": {
                "post": import_op(config),
            },
            "/documents/{name}/export/{format}": {
                "get": op("Download a pad or a calc in a format", file_params(&[]),
                    ("200", file_response()), &[400, 401, 404, 409, 503]),
            },
            "/documents/{name}/last-edited": {
                "get": op("When the document was last edited", vec![name_param()],
                    ("200", json_response("Last edit", json!({ "type": "object",
                        "properties": { "name": { "type": "string" }, "last_edit": { "type": "integer" } } }))),
                    &[400, 401, 404, 503]),
            },
            "/documents/{name}/read-only-link": {
                "get": op("The read-only link of a document", vec![name_param()],
                    ("200", json_response("The link", json!({ "type": "object",
                        "properties": { "token": { "type": "string" }, "url": { "type": "string" } } }))),
                    &[400, 401, 404, 503]),
            },
            "/documents/{name}/revisions": {
                "get": op("The document's revisions (states unchanged for a second or more), oldest first, a page at a time",
                    vec![
                        name_param(),
                        query("after", "The revisions after this one (the `next` of the previous page)",
                            json!({ "type": "integer", "minimum": 0 })),
                        query("before", "The revisions just before this one (the `previous` of a page); with neither, the newest",
                            json!({ "type": "integer", "minimum": 0 })),
                        query("limit", "Page size", json!({ "type": "integer", "minimum": 1,
                            "maximum": MAX_REVISIONS, "default": DEFAULT_REVISIONS })),
                    ],
                    ("200", json_response("A page of revisions", schema("RevisionList"))),
                    &[400, 401, 404, 503]),
            },
            "/documents/{name}/revisions/{rev}/export/{format}": {
                "get": op("Download a revision of a pad or a calc in a format",
                    file_params(&[param("rev", "A revision number, as listed")]),
                    ("200", file_response()), &[400, 401, 404, 413, 503]),
            },
            "/documents/{name}/revisions/{rev}/restore": {
                "post": op("Make a revision the document's content again, as a new edit (live editors see it at once); restoring the revision before a restore undoes it",
                    vec![name_param(), param("rev", "A revision number, as listed")],
                    ("200", json_response("The new revision", json!({ "type": "object", "required": ["rev"],
                        "properties": { "rev": { "type": "integer" } } }))),
                    &[400, 401, 404, 413, 503]),
            },
            "/stats": {
                "get": op("Live documents, connections and whether creation is open", vec![],
                    ("200", json_response("Stats", schema("Stats"))), &[401]),
            },
            "/backup": {
                "post": op("Write a consistent copy of every document into a fresh database under DATA/backups/",
                    vec![],
                    ("201", json_response("Where the copy is", json!({ "type": "object",
                        "properties": { "path": { "type": "string" }, "documents": { "type": "integer" } } }))),
                    &[401, 503]),
            },
        },
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer",
                    "description": "The key whose SHA-256 is the server's api_key_sha256" }
            },
            "schemas": {
                "Name": { "type": "string", "pattern": "^[A-Za-z0-9_.-]{1,100}$" },
                "Error": {
                    "type": "object", "required": ["error", "message"],
                    "properties": {
                        "error": { "type": "string", "enum": ["not_found", "unauthorized",
                            "bad_name", "bad_request", "body_too_large", "unknown_format",
                            "exists", "wrong_kind", "document_too_large", "creation_closed",
                            "unavailable"] },
                        "message": { "type": "string" }
                    }
                },
                "CreateDocument": {
                    "type": "object", "additionalProperties": false,
                    "properties": {
                        "name": { "$ref": "#/components/schemas/Name" },
                        "kind": { "type": "string", "enum": ["pad", "calc"], "default": "pad" },
                        "lifetime": { "type": "string",
                            "enum": config.retention_choices.iter().map(|l| l.to_string()).collect::<Vec<_>>(),
                            "default": config.retention_default.to_string(),
                            "description": "How long the document is kept after its last edit: one of the offered choices" }
                    }
                },
                "Document": {
                    "type": "object",
                    "properties": {
                        "name": { "type": "string" },
                        "kind": { "type": "string", "enum": ["pad", "calc"] },
                        "created": { "type": "integer" },
                        "last_edit": { "type": "integer" },
                        "lifetime": { "type": "string", "description": "How long it is kept after its last edit (`30d`, `forever`, …)" },
                        "expires": { "type": ["integer", "null"], "description": "When it will be erased if nobody edits it (Unix seconds); null for never" },
                        "url": { "type": "string" },
                        "read_only_url": { "type": "string" }
                    }
                },
                "DocumentList": {
                    "type": "object",
                    "properties": {
                        "documents": { "type": "array", "items": {
                            "type": "object",
                            "properties": {
                                "name": { "type": "string" },
                                "kind": { "type": "string", "enum": ["pad", "calc"] },
                                "created": { "type": "integer" },
                                "last_edit": { "type": "integer" },
                                "lifetime": { "type": "string" },
                                "expires": { "type": ["integer", "null"] },
                                "bytes": { "type": "integer", "description": "Stored bytes" }
                            }
                        } },
                        "next": { "type": ["string", "null"] }
                    }
                },
                "RevisionList": {
                    "type": "object",
                    "properties": {
                        "revisions": { "type": "array", "items": {
                            "type": "object",
                            "properties": {
                                "rev": { "type": "integer", "description": "Its number: never changes meaning" },
                                "time": { "type": "integer", "description": "When it was reached (Unix seconds)" },
                                "authors": { "type": "array", "items": { "type": "string" },
                                    "description": "Names of who changed the document since the previous revision" },
                                "restored_from": { "type": ["integer", "null"],
                                    "description": "The revision a restore brought back" }
                            }
                        } },
                        "next": { "type": ["integer", "null"], "description": "Pass as `after` for the following page" },
                        "previous": { "type": ["integer", "null"], "description": "Pass as `before` for older revisions" }
                    }
                },
                "Imported": imported_schema(),
                "Stats": {
                    "type": "object",
                    "properties": {
                        "documents_live": { "type": "integer" },
                        "connections": { "type": "integer" },
                        "creation": { "type": "string", "enum": ["open", "closed"] }
                    }
                }
            }
        }
    })
}
