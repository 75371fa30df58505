//! Domain errors: one enum, each variant with a stable machine code, an English message
//! (`Display`) and a Vietnamese one, so the tablet and the server report the same thing.

use uuid::Uuid;

/// A rule of the domain that an input breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// A number of points that cannot be read.
    #[error("'{input}' is not a number of points (at most two decimals)")]
    InvalidPoints {
        /// The offending text, cut to 40 characters.
        input: String,
    },
    /// A mutation names an entity that does not exist.
    #[error("no {kind} with id {id}")]
    UnknownEntity {
        /// The kind the mutation expected.
        kind: &'static str,
        /// The id it named.
        id: Uuid,
    },
    /// A mutation names an entity of another kind than it works on.
    #[error("{id} is a {found}, not a {expected}")]
    WrongKind {
        /// The id it named.
        id: Uuid,
        /// The kind the mutation works on.
        expected: &'static str,
        /// The kind found under that id.
        found: &'static str,
    },
    /// A required text is empty.
    #[error("the {field} must not be empty")]
    EmptyText {
        /// Which field.
        field: &'static str,
    },
    /// A text is longer than allowed.
    #[error("the {field} is longer than {max} characters")]
    TextTooLong {
        /// Which field.
        field: &'static str,
        /// The limit in characters.
        max: usize,
    },
}

impl DomainError {
    /// A stable code that clients can act on.
    pub fn code(&self) -> &'static str {
        match self {
            DomainError::InvalidPoints { .. } => "invalid_points",
            DomainError::UnknownEntity { .. } => "unknown_entity",
            DomainError::WrongKind { .. } => "wrong_entity_kind",
            DomainError::EmptyText { .. } => "empty_text",
            DomainError::TextTooLong { .. } => "text_too_long",
        }
    }

    /// The message in Vietnamese.
    pub fn message_vi(&self) -> String {
        match self {
            DomainError::InvalidPoints { input } => {
                format!("'{input}' không phải là số điểm hợp lệ (tối đa hai chữ số thập phân)")
            }
            DomainError::UnknownEntity { kind, id } => {
                format!("Không tìm thấy {} có mã {id}", kind_vi(kind))
            }
            DomainError::WrongKind {
                id,
                expected,
                found,
            } => format!(
                "{id} là {}, không phải {}",
                kind_vi(found),
                kind_vi(expected)
            ),
            DomainError::EmptyText { field } => format!("{} không được để trống", field_vi(field)),
            DomainError::TextTooLong { field, max } => {
                format!("{} dài quá {max} ký tự", field_vi(field))
            }
        }
    }
}

fn kind_vi(kind: &str) -> &str {
    match kind {
        "unit" => "đơn vị",
        "block" => "khối thi đua",
        "covenant" => "giao ước thi đua",
        "content" => "nội dung thi đua",
        "criterion" => "tiêu chí",
        other => other,
    }
}

fn field_vi(field: &str) -> &str {
    match field {
        "title" => "Tên tiêu chí",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_has_a_code_and_two_languages() {
        let e = DomainError::UnknownEntity {
            kind: "criterion",
            id: Uuid::nil(),
        };
        assert_eq!(e.code(), "unknown_entity");
        assert!(e.to_string().starts_with("no criterion"));
        assert!(e.message_vi().contains("tiêu chí"));
        let e = DomainError::EmptyText { field: "title" };
        assert_eq!(e.message_vi(), "Tên tiêu chí không được để trống");
    }
}
