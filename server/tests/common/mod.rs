//! Helpers the tests of the real binary share (`shutdown.rs`, `field.rs`).

use shared::mutation::{Mutation, Op};
use shared::protocol::LoginRequest;
use shared::{Hlc, demo};
use uuid::Uuid;

/// A free port on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// The demo secretary's sign-in from `device`.
pub fn secretary_login(device: Uuid) -> LoginRequest {
    LoginRequest {
        username: "thuky".into(),
        password: "thidua-demo-2026".into(),
        device_id: device,
        device_name: "Máy thư ký".into(),
        device_key: None,
    }
}

/// Renames the demo's second criterion, stamped now by `device` (counter `n`), as a device
/// would: the server refuses stamps far ahead of its clock.
pub fn rename(device: Uuid, n: u32) -> Mutation {
    Mutation {
        id: Uuid::now_v7(),
        hlc: Hlc {
            ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
            counter: n,
            node: device,
        },
        op: Op::set(
            demo::id(1001),
            "title",
            format!("Tiêu chí, lần sửa {n}").into(),
        ),
    }
}
