//! The OpenAPI 3.1 document of the API, written by hand next to the routes it describes; a
//! test calls every operation listed here against the real router, so the two stay in step.

use axum::Json;
use serde_json::{Value, json};

/// `GET /api/v1/openapi.json`.
pub(crate) async fn document() -> Json<Value> {
    Json(spec())
}

fn error_responses() -> Value {
    let e = json!({"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}});
    json!({
        "400": {"description": "Malformed request, unsupported protocol or invalid code", "content": e["content"]},
        "401": {"description": "No valid token", "content": e["content"]},
        "403": {"description": "The account may not do this", "content": e["content"]},
        "413": {"description": "Body or batch too large", "content": e["content"]},
        "415": {"description": "Not JSON", "content": e["content"]},
        "500": {"description": "Server error; retry", "content": e["content"]},
        "503": {"description": "Unavailable; retry", "content": e["content"]}
    })
}

fn op(summary: &str, secured: bool, body: Option<&str>, ok: (&str, Value)) -> Value {
    let mut responses = error_responses();
    responses[ok.0] = ok.1;
    let mut o = json!({"summary": summary, "responses": responses});
    if let Some(schema) = body {
        o["requestBody"] = json!({
            "required": true,
            "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}
        });
    }
    if !secured {
        o["security"] = json!([]);
    }
    o
}

fn ok_json(schema: &str) -> Value {
    json!({"description": "OK", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
}

fn block_param() -> Value {
    json!([{"name": "block_id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}])
}

/// The document.
pub fn spec() -> Value {
    let uuid = json!({"type": "string", "format": "uuid"});
    let mut audit = op(
        "The block's audit log (secretary, admin)",
        true,
        None,
        (
            "200",
            json!({
                "description": "OK", "content": {"application/json": {"schema": {"type": "array", "items": {"type": "object"}}}}
            }),
        ),
    );
    audit["parameters"] = json!([
        {"name": "block_id", "in": "path", "required": true, "schema": uuid},
        {"name": "after", "in": "query", "schema": {"type": "integer", "format": "int64"}},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 4294967295u64}}
    ]);
    let mut audit_csv = op(
        "The block's audit log as CSV",
        true,
        None,
        (
            "200",
            json!({
                "description": "CSV, UTF-8 with BOM", "content": {"text/csv": {"schema": {"type": "string"}}}
            }),
        ),
    );
    audit_csv["parameters"] = block_param();
    let mut results_csv = op(
        "The block's results table as CSV (members of the block, admin)",
        true,
        None,
        (
            "200",
            json!({
                "description": "CSV, UTF-8 with BOM", "content": {"text/csv": {"schema": {"type": "string"}}}
            }),
        ),
    );
    results_csv["parameters"] = block_param();
    results_csv["responses"]["409"] =
        json!({"description": "No results yet", "content": error_responses()["400"]["content"]});
    let mut results_xlsx = op(
        "The block's results, counted sheets and ballots as an Excel workbook",
        true,
        None,
        (
            "200",
            json!({
                "description": "XLSX", "content": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": {"type": "string", "format": "binary"}}}
            }),
        ),
    );
    results_xlsx["parameters"] = block_param();
    results_xlsx["responses"]["409"] = results_csv["responses"]["409"].clone();
    let mut minutes = op(
        "The minutes of the block's review meeting, printable HTML",
        true,
        None,
        (
            "200",
            json!({
                "description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}
            }),
        ),
    );
    let text = json!({"type": "string", "maxLength": 200});
    minutes["parameters"] = block_param();
    minutes["responses"]["409"] = results_csv["responses"]["409"].clone();
    let mut covenant = op(
        "The block's covenant (latest version) as printed for signing",
        true,
        None,
        (
            "200",
            json!({"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}),
        ),
    );
    covenant["parameters"] = block_param();
    covenant["responses"]["409"] = results_csv["responses"]["409"].clone();
    let changes_schema = json!({"type": "object", "additionalProperties": false, "required": ["format", "version", "device_id", "created_ms", "mutations"],
        "properties": {"format": {"const": "thidua-changes"}, "version": {"const": 2}, "device_id": uuid,
            "created_ms": {"type": "integer", "minimum": 0}, "mutations": {"type": "array", "items": {"$ref": "#/components/schemas/Mutation"}},
            "papers": {"type": "array", "description": "ballot papers encrypted to `GET /paper-key`", "items": {"type": "object", "additionalProperties": false,
                "required": ["key", "data"], "properties": {"key": {"type": "string"}, "data": {"type": "string"}}}},
            "signature": {"type": "string", "description": "hex ECDSA P-256 (r‖s) of the file with `signature` empty, by the device's registered key"}}});
    let mut changes_file = op(
        "Imports a changes file exported by a device without network; applies it as that device, once",
        true,
        Some("ChangesFile"),
        (
            "200",
            json!({"description": "What the import did", "content": {"application/json": {"schema": {
                "type": "object", "required": ["device_id", "applied", "duplicate", "rejected", "outcomes"],
                "properties": {"device_id": uuid, "applied": {"type": "integer"}, "duplicate": {"type": "integer"},
                    "rejected": {"type": "integer"}, "outcomes": {"type": "array", "items": {"$ref": "#/components/schemas/Outcome"}}}
            }}}}),
        ),
    );
    changes_file["responses"]["400"]["description"] = json!(
        "Malformed, or `tampered`: altered after export or not sealed by the device it names"
    );
    let mut board = op(
        "The projector screen and results view: sheets submitted per round, the ranking once published, ballots' turnout and counts; updates itself from the live events",
        true,
        None,
        (
            "200",
            json!({"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}),
        ),
    );
    board["parameters"] = block_param();
    let filters = json!([
        {"name": "year", "in": "query", "schema": {"type": "string"}},
        {"name": "level", "in": "query", "schema": {"type": "string", "enum": ["", "central", "provincial", "local"]}},
        {"name": "province", "in": "query", "schema": {"type": "string"}}
    ]);
    let mut overview_html = op(
        "The central office's overview of every block, filtered (admin), as a page",
        true,
        None,
        (
            "200",
            json!({"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}),
        ),
    );
    overview_html["parameters"] = filters.clone();
    let mut overview_xlsx = op(
        "The central office's overview as one Excel workbook of everything selected (admin)",
        true,
        None,
        (
            "200",
            json!({"description": "XLSX", "content": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": {"type": "string", "format": "binary"}}}}),
        ),
    );
    overview_xlsx["parameters"] = filters;
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "ThiĐua API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Sync, accounts and live events for emulation blocks. Every error body is an ErrorBody with a stable code."
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {
            "/health": {"get": op("Protocol version and database status", false, None, ("200", ok_json("Health")))},
            "/sync": {"post": op("Push the outbox, pull changes since the cursor", true, Some("SyncRequest"), ("200", ok_json("SyncResponse")))},
            "/auth/login": {"post": op("Sign in with a password; issues a device token", false, Some("LoginRequest"), ("200", ok_json("TokenResponse")))},
            "/auth/join": {"post": op("Join a block with a one-time code; issues a device token", false, Some("JoinRequest"), ("200", ok_json("TokenResponse")))},
            "/auth/logout": {"post": op("Revoke this device's token", true, None, ("204", json!({"description": "Signed out"})))},
            "/auth/me": {"get": op("The account and its roles", true, None, ("200", ok_json("Principal")))},
            "/join-codes": {"post": op("Issue a one-time join code (secretary)", true, Some("JoinCodeRequest"), ("201", ok_json("JoinCodeResponse")))},
            "/blocks/{block_id}/audit": {"get": audit},
            "/blocks/{block_id}/audit.csv": {"get": audit_csv},
            "/blocks/{block_id}/results.csv": {"get": results_csv},
            "/blocks/{block_id}/results.xlsx": {"get": results_xlsx},
            "/blocks/{block_id}/minutes.html": {"get": minutes},
            "/blocks/{block_id}/covenant.html": {"get": covenant},
            "/blocks/{block_id}/board.html": {"get": board},
            "/overview.html": {"get": overview_html},
            "/overview.xlsx": {"get": overview_xlsx},
            "/events": {"get": op("Server-sent events: `change` with {block_id, seq} when a readable block changed", true, None, ("200", json!({
                "description": "An event stream: `ready` (data: the latest sequence), then `change` events (data: JSON {block_id, seq})",
                "content": {"text/event-stream": {"schema": {
                    "type": "object",
                    "properties": {"event": {"type": "string"}, "data": {"type": "string"}, "id": {"type": "string"}}
                }}}
            })))},
            "/openapi.json": {"get": op("This document", false, None, ("200", json!({
                "description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}
            })))}
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "A device token. Server pages, documents and `/events` also take the page session's HttpOnly cookie (`POST /auth/page-session`); a write by cookie needs the header `x-thidua-page`"}},
            "schemas": {
                "ProtocolVersion": {"type": "object", "additionalProperties": false, "required": ["major", "minor"],
                    "properties": {"major": {"type": "integer", "minimum": 0, "maximum": 4294967295u64}, "minor": {"type": "integer", "minimum": 0, "maximum": 4294967295u64}}},
                "Hlc": {"type": "object", "required": ["ms", "counter", "node"],
                    "properties": {"ms": {"type": "integer", "minimum": 0}, "counter": {"type": "integer", "minimum": 0}, "node": uuid}},
                "Mutation": {"type": "object", "additionalProperties": false, "required": ["id", "hlc", "op"],
                    "properties": {"id": uuid, "hlc": {"$ref": "#/components/schemas/Hlc"},
                        "op": {"type": "object", "required": ["type"], "properties": {"type": {"enum": ["create", "update", "delete", "correct", "cast_vote"]}}}}},
                "SyncRequest": {"type": "object", "additionalProperties": false, "required": ["protocol", "device_id", "cursor"],
                    "properties": {"protocol": {"$ref": "#/components/schemas/ProtocolVersion"}, "device_id": uuid,
                        "cursor": {"type": "integer", "minimum": 0}, "limit": {"type": ["integer", "null"], "minimum": 0, "maximum": 4294967295u64},
                        "mutations": {"type": "array", "items": {"$ref": "#/components/schemas/Mutation"}}}},
                "Outcome": {"type": "object", "required": ["mutation_id", "status"],
                    "properties": {"mutation_id": uuid, "status": {"enum": ["applied", "duplicate", "rejected"]},
                        "seq": {"type": "integer"}, "code": {"type": "string"}, "message": {"type": "string"}, "message_vi": {"type": "string"}}},
                "Change": {"type": "object", "required": ["seq", "record"],
                    "properties": {"seq": {"type": "integer"}, "record": {"type": "object", "required": ["type", "id"]},
                        "clocks": {"type": "object"}, "deleted": {"type": "boolean"}}},
                "SyncResponse": {"type": "object", "required": ["protocol", "outcomes", "changes", "cursor", "more"],
                    "properties": {"protocol": {"$ref": "#/components/schemas/ProtocolVersion"},
                        "outcomes": {"type": "array", "items": {"$ref": "#/components/schemas/Outcome"}},
                        "changes": {"type": "array", "items": {"$ref": "#/components/schemas/Change"}},
                        "cursor": {"type": "integer"}, "more": {"type": "boolean"}}},
                "LoginRequest": {"type": "object", "additionalProperties": false, "required": ["username", "password", "device_id"],
                    "properties": {"username": {"type": "string"}, "password": {"type": "string"}, "device_id": uuid, "device_name": {"type": "string"}}},
                "JoinRequest": {"type": "object", "additionalProperties": false, "required": ["code", "device_id"],
                    "properties": {"code": {"type": "string"}, "device_id": uuid, "device_name": {"type": "string"}}},
                "JoinCodeRequest": {"type": "object", "additionalProperties": false, "required": ["block_id", "role"],
                    "properties": {"block_id": uuid, "role": {"enum": ["secretary", "delegate", "observer"]},
                        "unit": {"oneOf": [uuid, {"type": "null"}]}, "ttl_minutes": {"type": ["integer", "null"], "minimum": 0, "maximum": 4294967295u64}}},
                "JoinCodeResponse": {"type": "object", "required": ["code", "expires_ms"],
                    "properties": {"code": {"type": "string"}, "expires_ms": {"type": "integer"}}},
                "Principal": {"type": "object", "required": ["account_id", "admin", "grants"],
                    "properties": {"account_id": uuid, "name": {"type": "string"}, "admin": {"type": "boolean"},
                        "grants": {"type": "array", "items": {"type": "object", "required": ["block_id", "role"],
                            "properties": {"block_id": uuid, "role": {"enum": ["secretary", "delegate", "observer"]}, "unit": {"oneOf": [uuid, {"type": "null"}]}}}}}},
                "TokenResponse": {"type": "object", "required": ["token", "expires_ms", "principal"],
                    "properties": {"token": {"type": "string"}, "expires_ms": {"type": "integer"}, "principal": {"$ref": "#/components/schemas/Principal"}}},
                "Health": {"type": "object", "required": ["status", "protocol", "version"],
                    "properties": {"status": {"type": "string"}, "protocol": {"$ref": "#/components/schemas/ProtocolVersion"}, "version": {"type": "string"}}},
                "ErrorBody": {"type": "object", "required": ["code", "message", "message_vi"],
                    "properties": {"code": {"enum": ["malformed_request", "unsupported_media_type", "unsupported_protocol", "payload_too_large",
                        "batch_too_large", "unauthorized", "forbidden", "invalid_code", "conflict", "not_found", "internal", "unavailable", "tampered", "refused", "clock_ahead", "rate_limited", "unit_taken"]},
                        "message": {"type": "string"}, "message_vi": {"type": "string"},
                        "server_ms": {"type": "integer", "minimum": 0}, "retry_after_secs": {"type": "integer", "minimum": 0}}}
            }
        }
    });
    // Added apart: one more literal in the macro above passes its recursion limit.
    doc["paths"]["/changes-file"] = json!({"post": changes_file});
    doc["paths"]["/auth/device-key"] = json!({"post": op(
        "Register this device's public key (it verifies the changes files the device signs)",
        true,
        Some("DeviceKeyRequest"),
        ("204", json!({"description": "Registered"})),
    )});
    doc["paths"]["/auth/page-session"] = json!({"post": op(
        "Start a page session for this device: an HttpOnly SameSite=Strict cookie that opens server pages, documents and `/events` (never a sync), so no token travels in an address; it ends with the device's token",
        true,
        None,
        ("204", json!({"description": "Started (`Set-Cookie: thidua_page=…`)"})),
    )});
    let key = json!({"type": ["string", "null"], "description": "hex DER SubjectPublicKeyInfo of an ECDSA P-256 key"});
    doc["paths"]["/auth/revoke-device"] = json!({"post": op(
        "Sign a device out of every account (administrators): a lost tablet, or a unit's delegate seat held by the wrong device; audited in each block it acted in",
        true,
        Some("RevokeDeviceRequest"),
        ("200", json!({"description": "Revoked", "content": {"application/json": {"schema": {
            "type": "object", "required": ["revoked"],
            "properties": {"revoked": {"type": "integer", "minimum": 0, "description": "sign-ins revoked"}}}}}})),
    )});
    doc["paths"]["/paper-key"] = json!({"get": op(
        "The server's public paper key (hex SPKI DER, ECDH P-256): a device encrypts the ballot papers of a changes file to it (ECIES: SHA-256(Z ‖ 00000001 ‖ ephemeral SPKI) as the AES-256-GCM key, zero nonce)",
        false,
        None,
        ("200", json!({"description": "The key", "content": {"text/plain": {"schema": {"type": "string", "pattern": "^[0-9a-f]+$"}}}})),
    )});
    doc["components"]["schemas"]["RevokeDeviceRequest"] = json!({
        "type": "object", "additionalProperties": false, "required": ["device_id"],
        "properties": {"device_id": {"type": "string", "format": "uuid"}}
    });
    doc["components"]["schemas"]["DeviceKeyRequest"] = json!({
        "type": "object", "additionalProperties": false, "required": ["device_key"],
        "properties": {"device_key": {"type": "string"}}
    });
    for schema in ["LoginRequest", "JoinRequest"] {
        doc["components"]["schemas"][schema]["properties"]["device_key"] = key.clone();
    }
    let e = error_responses()["400"]["content"].clone();
    let ahead = json!({"description": "`clock_ahead`: a stamp runs ahead of the server's clock by more than the allowed skew; nothing applied; re-stamp from `server_ms`", "content": e});
    doc["paths"]["/sync"]["post"]["responses"]["409"] = ahead.clone();
    doc["paths"]["/changes-file"]["post"]["responses"]["409"] = ahead;
    for path in ["/auth/login", "/auth/join"] {
        doc["paths"][path]["post"]["responses"]["429"] = json!({
            "description": "`rate_limited`: too many failed attempts from this address or on this account; wait `Retry-After` seconds",
            "headers": {"Retry-After": {"schema": {"type": "integer"}}},
            "content": e,
        });
    }
    let html = |summary: &str| {
        op(
            summary,
            true,
            None,
            (
                "200",
                json!({"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}),
            ),
        )
    };
    let mut documents = html(
        "The block's documents: projector, minutes (with the meeting's details), covenant, workbook, CSV",
    );
    documents["parameters"] = block_param();
    doc["paths"]["/blocks/{block_id}/documents.html"] = json!({"get": documents});
    doc["paths"]["/import.html"] = json!({"get": html("A page that imports a changes file")});
    doc["components"]["schemas"]["ChangesFile"] = changes_schema;
    let mut meeting = op(
        "Records the year-end meeting's details on the block, as the minutes print them (secretary)",
        true,
        Some("MeetingDetails"),
        ("200", ok_json("MeetingDetails")),
    );
    meeting["parameters"] = block_param();
    meeting["responses"]["422"] = json!({
        "description": "`refused` by the rules: a text too long, or an absent unit not in the block",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    });
    meeting["responses"]["404"] = json!({
        "description": "No such block",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    });
    doc["paths"]["/blocks/{block_id}/meeting"] = json!({"put": meeting});
    doc["components"]["schemas"]["MeetingDetails"] = json!({
        "type": "object", "additionalProperties": false,
        "properties": {"place": text, "date": text, "chair": text, "secretary": text,
            "absent": {"type": "array", "items": uuid}}
    });
    doc
}
