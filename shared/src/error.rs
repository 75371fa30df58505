//! Domain errors: one enum, each variant with a stable machine code, an English message
//! (`Display`) and a Vietnamese one, so the tablet and the server report the same thing.
//!
//! Codes are part of the protocol: clients branch on them, so a code never changes meaning.

use uuid::Uuid;

use crate::points::Points;

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
    /// A document needs a scoring round and the block has none yet.
    #[error("block {block} has no scoring round yet")]
    NoRounds {
        /// The block.
        block: Uuid,
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

    // ---- Mutations and rights ----
    /// The author's role does not allow this change.
    #[error("your role does not allow this: {action}")]
    Forbidden {
        /// What was attempted, in English.
        action: &'static str,
    },
    /// A mutation sets a field that cannot change after creation.
    #[error("the field '{field}' cannot be changed")]
    ReadOnlyField {
        /// The field.
        field: String,
    },
    /// A field set to a value of the wrong shape.
    #[error("invalid value: {reason}")]
    InvalidField {
        /// What is wrong, from the decoder.
        reason: String,
    },
    /// A create for an id that already exists.
    #[error("{id} already exists")]
    AlreadyExists {
        /// The id.
        id: Uuid,
    },
    /// An edit to a sheet after its scorer submitted it.
    #[error("the score sheet was submitted; ask the secretary for a correction")]
    SheetSubmitted,
    /// A correction in a round that is still open.
    #[error("corrections are for locked rounds; the round is still open")]
    RoundNotLocked,
    /// A correction without a written reason.
    #[error("a correction needs a written reason")]
    CorrectionNeedsReason,

    // ---- Covenant structure ----
    /// Two contents or criteria share a code.
    #[error("the code '{code}' is used twice")]
    DuplicateCode {
        /// The code.
        code: String,
    },
    /// A code names no content or criterion.
    #[error("no content or criterion has the code '{code}'")]
    UnknownCode {
        /// The code.
        code: String,
    },
    /// The standard criteria's maxima do not add up to the covenant's stated total.
    #[error("the standard criteria add up to {sum} points, but the covenant states {stated}")]
    CovenantTotalMismatch {
        /// Their sum.
        sum: Points,
        /// The stated total.
        stated: Points,
    },
    /// A criterion's sub-criteria do not add up to its maximum.
    #[error("the sub-criteria of {code} add up to {sum} points, but {code} states {stated}")]
    SubcriteriaTotalMismatch {
        /// The parent's code.
        code: String,
        /// The children's sum.
        sum: Points,
        /// The parent's maximum.
        stated: Points,
    },
    /// A maximum that its kind does not allow (zero or negative, or non-zero for a disqualifier).
    #[error("criterion {code} cannot have a maximum of {max} points")]
    InvalidMaxPoints {
        /// The criterion's code.
        code: String,
        /// The maximum given.
        max: Points,
    },
    /// A bonus criterion worth more than the covenant's bonus cap.
    #[error("bonus criterion {code} is worth {max} points, more than the bonus cap of {cap}")]
    BonusCriterionOverCap {
        /// The criterion's code.
        code: String,
        /// Its maximum.
        max: Points,
        /// The covenant's cap.
        cap: Points,
    },
    /// A sub-criterion under a sub-criterion: only one level is allowed.
    #[error("criterion {code} is nested more than one level deep")]
    NestingTooDeep {
        /// The criterion's code.
        code: String,
    },
    /// A sub-criterion of another kind than its parent, or under another content.
    #[error("criterion {code} must have its parent's kind and content")]
    ParentMismatch {
        /// The criterion's code.
        code: String,
    },
    /// A content without criteria.
    #[error("content {code} has no criteria")]
    EmptyContent {
        /// The content's code.
        code: String,
    },

    // ---- Scores ----
    /// Points outside 0..=maximum.
    #[error("{value} points is outside 0 to {max} for criterion {code}")]
    PointsOutOfRange {
        /// The criterion's code.
        code: String,
        /// The points given.
        value: Points,
        /// The maximum.
        max: Points,
    },
    /// Points not on the block's step (e.g. 7.3 when the step is 0.5).
    #[error("{value} points is not a multiple of {step} for criterion {code}")]
    PointsOffStep {
        /// The criterion's code.
        code: String,
        /// The points given.
        value: Points,
        /// The step.
        step: Points,
    },
    /// A cell value of the wrong shape for its criterion's kind.
    #[error("criterion {code} takes {expected}")]
    WrongValueKind {
        /// The criterion's code.
        code: String,
        /// What it takes: "points", "a count" or "yes or no".
        expected: &'static str,
    },
    /// A score on a criterion that has sub-criteria: those are scored instead.
    #[error("criterion {code} is scored through its sub-criteria")]
    NotALeaf {
        /// The criterion's code.
        code: String,
    },
    /// A score for a criterion the covenant does not have.
    #[error("criterion {id} is not in this covenant")]
    UnknownCriterion {
        /// The criterion id given.
        id: Uuid,
    },
    /// The bonus points of one sheet exceed the covenant's cap.
    #[error("{total} bonus points exceed the cap of {cap}")]
    BonusOverCap {
        /// The sheet's bonus total.
        total: Points,
        /// The cap.
        cap: Points,
    },
    /// Two cells of one sheet for one criterion.
    #[error("criterion {code} is scored twice on one sheet")]
    DuplicateCell {
        /// The criterion's code.
        code: String,
    },

    // ---- Blocks, rounds, sheets ----
    /// A unit that is not a member of the block.
    #[error("unit {unit} is not a member of this block")]
    UnitNotInBlock {
        /// The unit.
        unit: Uuid,
    },
    /// A self-scoring sheet whose scorer is not its subject, or a cross sheet on oneself.
    #[error("in a {stage} round a unit {rule}")]
    WrongScorer {
        /// The round's stage.
        stage: &'static str,
        /// "scores only itself" or "does not score itself".
        rule: &'static str,
    },
    /// A cross sheet for a pair the lot did not draw.
    #[error("the lot did not draw unit {scorer} to score unit {subject}")]
    PairNotDrawn {
        /// The scorer.
        scorer: Uuid,
        /// The subject.
        subject: Uuid,
    },
    /// Two sheets by one scorer for one subject in one round.
    #[error("unit {scorer} already has a sheet for unit {subject} in this round")]
    DuplicateSheet {
        /// The scorer.
        scorer: Uuid,
        /// The subject.
        subject: Uuid,
    },
    /// A write into a round that is locked or published.
    #[error("the round is {state}; changes need a correction with a reason")]
    RoundLocked {
        /// "locked" or "published".
        state: &'static str,
    },
    /// A change of what a locked or published round's results depend on.
    #[error(
        "the block's {field} cannot change while a scoring round is {state}: its results depend on them"
    )]
    ResultsFrozen {
        /// "rules" or "members".
        field: &'static str,
        /// "locked" or "published".
        state: &'static str,
    },
    /// A state change that the life cycle does not allow.
    #[error("cannot go from {from} to {to}")]
    InvalidTransition {
        /// The current state.
        from: &'static str,
        /// The state asked for.
        to: &'static str,
    },
    /// A lot draw that cannot be made or does not match its seed.
    #[error("invalid draw: {reason}")]
    InvalidDraw {
        /// Why.
        reason: &'static str,
    },
    /// A block rule that makes no sense.
    #[error("invalid block rule: {reason}")]
    InvalidRule {
        /// Why.
        reason: &'static str,
    },
    /// A member unit signing twice.
    #[error("unit {unit} has already signed")]
    AlreadySigned {
        /// The unit.
        unit: Uuid,
    },
    /// An amendment without a reason.
    #[error("an amendment needs a reason")]
    AmendmentNeedsReason,
    /// An edit to a covenant that is agreed or signed: amend it instead.
    #[error("the covenant is {status}; amend it as a new version instead")]
    CovenantNotEditable {
        /// Its status.
        status: &'static str,
    },

    // ---- Ballots ----
    /// A vote in a ballot that is not open.
    #[error("the ballot is not open")]
    BallotNotOpen,
    /// Results asked for before the ballot closed.
    #[error("results are only available after the ballot closes")]
    BallotNotClosed,
    /// A voter not on the ballot's list.
    #[error("{voter} may not vote in this ballot")]
    NotEligible {
        /// The voter.
        voter: Uuid,
    },
    /// A second vote by one voter.
    #[error("{voter} has already voted")]
    AlreadyVoted {
        /// The voter.
        voter: Uuid,
    },
    /// A mutation id already used by another device's change, or by another change.
    #[error("the mutation id {id} is already taken by another change; send it under a new id")]
    MutationIdTaken {
        /// The id.
        id: Uuid,
    },
    /// A mutation stamped by another device than the one sending it.
    #[error("the mutation's stamp names device {node}, not the device {device} sending it")]
    ForeignStamp {
        /// The stamp's device.
        node: Uuid,
        /// The sending device.
        device: Uuid,
    },
    /// A paper naming an unknown option or more options than allowed.
    #[error("the ballot paper names an unknown option or more than {max} options")]
    InvalidChoice {
        /// Choices allowed.
        max: u32,
    },
    /// More papers than voters present.
    #[error("{cast} ballots cast but only {present} voters present")]
    TooManyBallots {
        /// Papers cast.
        cast: u32,
        /// Voters present.
        present: u32,
    },
    /// Someone present who is not eligible.
    #[error("{voter} is recorded as present but may not vote")]
    PresentNotEligible {
        /// The voter.
        voter: Uuid,
    },

    // ---- Files ----
    /// A file that cannot be read as the expected format.
    #[error("cannot read the file: {reason}")]
    BadFile {
        /// Why, in English.
        reason: String,
    },
    /// A CSV header without a required column.
    #[error("the header has no '{column}' column")]
    MissingColumn {
        /// The column.
        column: &'static str,
    },
    /// A criterion kind that is not one of the four.
    #[error("'{input}' is not a criterion kind (standard, bonus, deduction, disqualifier)")]
    UnknownCriterionKind {
        /// The text given.
        input: String,
    },
    /// A code whose parent code (the part before the last dot) is not in the file above it.
    #[error("the code '{code}' has no parent row above it")]
    OrphanCode {
        /// The code.
        code: String,
    },
    /// A problem on one line of an imported file.
    #[error("line {line}: {error}")]
    AtLine {
        /// The 1-based line number.
        line: usize,
        /// The problem.
        error: Box<DomainError>,
    },
}

impl DomainError {
    /// A stable code that clients can act on.
    pub fn code(&self) -> &'static str {
        use DomainError as E;
        match self {
            E::InvalidPoints { .. } => "invalid_points",
            E::UnknownEntity { .. } => "unknown_entity",
            E::NoRounds { .. } => "no_rounds",
            E::Forbidden { .. } => "forbidden",
            E::ReadOnlyField { .. } => "read_only_field",
            E::InvalidField { .. } => "invalid_field",
            E::AlreadyExists { .. } => "already_exists",
            E::SheetSubmitted => "sheet_submitted",
            E::RoundNotLocked => "round_not_locked",
            E::CorrectionNeedsReason => "correction_needs_reason",
            E::WrongKind { .. } => "wrong_entity_kind",
            E::EmptyText { .. } => "empty_text",
            E::TextTooLong { .. } => "text_too_long",
            E::DuplicateCode { .. } => "duplicate_code",
            E::UnknownCode { .. } => "unknown_code",
            E::CovenantTotalMismatch { .. } => "covenant_total_mismatch",
            E::SubcriteriaTotalMismatch { .. } => "subcriteria_total_mismatch",
            E::InvalidMaxPoints { .. } => "invalid_max_points",
            E::BonusCriterionOverCap { .. } => "bonus_criterion_over_cap",
            E::NestingTooDeep { .. } => "nesting_too_deep",
            E::ParentMismatch { .. } => "parent_mismatch",
            E::EmptyContent { .. } => "empty_content",
            E::PointsOutOfRange { .. } => "points_out_of_range",
            E::PointsOffStep { .. } => "points_off_step",
            E::WrongValueKind { .. } => "wrong_value_kind",
            E::NotALeaf { .. } => "not_a_leaf",
            E::UnknownCriterion { .. } => "unknown_criterion",
            E::BonusOverCap { .. } => "bonus_over_cap",
            E::DuplicateCell { .. } => "duplicate_cell",
            E::UnitNotInBlock { .. } => "unit_not_in_block",
            E::WrongScorer { .. } => "wrong_scorer",
            E::PairNotDrawn { .. } => "pair_not_drawn",
            E::DuplicateSheet { .. } => "duplicate_sheet",
            E::RoundLocked { .. } => "round_locked",
            E::ResultsFrozen { .. } => "results_frozen",
            E::InvalidTransition { .. } => "invalid_transition",
            E::InvalidDraw { .. } => "invalid_draw",
            E::InvalidRule { .. } => "invalid_rule",
            E::AlreadySigned { .. } => "already_signed",
            E::AmendmentNeedsReason => "amendment_needs_reason",
            E::CovenantNotEditable { .. } => "covenant_not_editable",
            E::BallotNotOpen => "ballot_not_open",
            E::BallotNotClosed => "ballot_not_closed",
            E::NotEligible { .. } => "not_eligible",
            E::AlreadyVoted { .. } => "already_voted",
            E::ForeignStamp { .. } => "foreign_stamp",
            E::MutationIdTaken { .. } => "mutation_id_taken",
            E::InvalidChoice { .. } => "invalid_choice",
            E::TooManyBallots { .. } => "too_many_ballots",
            E::PresentNotEligible { .. } => "present_not_eligible",
            E::BadFile { .. } => "bad_file",
            E::MissingColumn { .. } => "missing_column",
            E::UnknownCriterionKind { .. } => "unknown_criterion_kind",
            E::OrphanCode { .. } => "orphan_code",
            E::AtLine { error, .. } => error.code(),
        }
    }

    /// The message in Vietnamese.
    pub fn message_vi(&self) -> String {
        use DomainError as E;
        match self {
            E::Forbidden { action } => {
                format!("Vai trò của bạn không được phép thực hiện việc này ({action})")
            }
            E::ReadOnlyField { field } => format!("Không thể thay đổi trường '{field}'"),
            E::InvalidField { reason } => format!("Giá trị không hợp lệ: {reason}"),
            E::AlreadyExists { id } => format!("Bản ghi {id} đã tồn tại"),
            E::SheetSubmitted => "Phiếu chấm đã nộp; hãy đề nghị thư ký điều chỉnh".to_owned(),
            E::RoundNotLocked => {
                "Chỉ điều chỉnh điểm khi vòng chấm đã khóa; vòng này đang mở".to_owned()
            }
            E::CorrectionNeedsReason => "Điều chỉnh điểm phải ghi rõ lý do".to_owned(),
            E::InvalidPoints { input } => {
                format!("'{input}' không phải là số điểm hợp lệ (tối đa hai chữ số thập phân)")
            }
            E::UnknownEntity { kind, id } => {
                format!("Không tìm thấy {} có mã {id}", kind_vi(kind))
            }
            E::NoRounds { .. } => "Khối chưa có vòng chấm nào".to_owned(),
            E::WrongKind {
                id,
                expected,
                found,
            } => format!(
                "{id} là {}, không phải {}",
                kind_vi(found),
                kind_vi(expected)
            ),
            E::EmptyText { field } => format!("{} không được để trống", field_vi(field)),
            E::TextTooLong { field, max } => {
                format!("{} dài quá {max} ký tự", field_vi(field))
            }
            E::DuplicateCode { code } => format!("Mã '{code}' bị trùng"),
            E::UnknownCode { code } => {
                format!("Không có nội dung hay tiêu chí nào mang mã '{code}'")
            }
            E::CovenantTotalMismatch { sum, stated } => format!(
                "Tổng điểm chuẩn các tiêu chí là {}, khác tổng điểm của giao ước là {}",
                vi(*sum),
                vi(*stated)
            ),
            E::SubcriteriaTotalMismatch { code, sum, stated } => format!(
                "Các tiêu chí con của {code} cộng lại được {} điểm, khác điểm chuẩn {} của {code}",
                vi(*sum),
                vi(*stated)
            ),
            E::InvalidMaxPoints { code, max } => {
                format!("Tiêu chí {code} không thể có điểm chuẩn {}", vi(*max))
            }
            E::BonusCriterionOverCap { code, max, cap } => format!(
                "Tiêu chí thưởng {code} có {} điểm, vượt mức điểm thưởng tối đa {}",
                vi(*max),
                vi(*cap)
            ),
            E::NestingTooDeep { code } => {
                format!("Tiêu chí {code} lồng quá một cấp tiêu chí con")
            }
            E::ParentMismatch { code } => {
                format!("Tiêu chí {code} phải cùng loại và cùng nội dung với tiêu chí cha")
            }
            E::EmptyContent { code } => format!("Nội dung {code} chưa có tiêu chí nào"),
            E::PointsOutOfRange { code, value, max } => format!(
                "{} điểm nằm ngoài khoảng 0 đến {} của tiêu chí {code}",
                vi(*value),
                vi(*max)
            ),
            E::PointsOffStep { code, value, step } => format!(
                "{} điểm không phải bội số của {} (tiêu chí {code})",
                vi(*value),
                vi(*step)
            ),
            E::WrongValueKind { code, expected } => {
                let what = match *expected {
                    "points" => "số điểm",
                    "a count" => "số lần",
                    _ => "có hoặc không",
                };
                format!("Tiêu chí {code} nhận giá trị là {what}")
            }
            E::NotALeaf { code } => {
                format!("Tiêu chí {code} được chấm qua các tiêu chí con")
            }
            E::UnknownCriterion { id } => {
                format!("Tiêu chí {id} không thuộc giao ước này")
            }
            E::BonusOverCap { total, cap } => {
                format!("{} điểm thưởng vượt mức tối đa {}", vi(*total), vi(*cap))
            }
            E::DuplicateCell { code } => {
                format!("Tiêu chí {code} được chấm hai lần trên một phiếu")
            }
            E::UnitNotInBlock { unit } => {
                format!("Đơn vị {unit} không phải thành viên của khối")
            }
            E::WrongScorer { stage, rule } => {
                let stage = match *stage {
                    "self" => "tự chấm",
                    "cross" => "chấm chéo",
                    other => other,
                };
                let rule = match *rule {
                    "scores only itself" => "chỉ tự chấm cho chính mình",
                    _ => "không chấm cho chính mình",
                };
                format!("Trong vòng {stage}, mỗi đơn vị {rule}")
            }
            E::PairNotDrawn { scorer, subject } => {
                format!("Kết quả bốc thăm không phân công đơn vị {scorer} chấm đơn vị {subject}")
            }
            E::DuplicateSheet { scorer, subject } => {
                format!("Đơn vị {scorer} đã có phiếu chấm cho đơn vị {subject} trong vòng này")
            }
            E::ResultsFrozen { field, state } => format!(
                "Không thể thay đổi {} của khối khi có vòng chấm {}: kết quả của vòng phụ thuộc vào đó",
                if *field == "members" {
                    "đơn vị thành viên"
                } else {
                    "quy chế chấm điểm"
                },
                state_vi(state)
            ),
            E::RoundLocked { state } => {
                let state = if *state == "published" {
                    "đã công bố"
                } else {
                    "đã khóa"
                };
                format!("Vòng chấm {state}; muốn sửa phải lập đính chính có lý do")
            }
            E::InvalidTransition { from, to } => format!(
                "Không thể chuyển từ trạng thái '{}' sang '{}'",
                state_vi(from),
                state_vi(to)
            ),
            E::InvalidDraw { reason } => {
                format!("Kết quả bốc thăm không hợp lệ: {}", reason_vi(reason))
            }
            E::InvalidRule { reason } => {
                format!("Quy định của khối không hợp lệ: {}", reason_vi(reason))
            }
            E::AlreadySigned { unit } => format!("Đơn vị {unit} đã ký giao ước"),
            E::AmendmentNeedsReason => "Sửa đổi giao ước phải ghi rõ lý do".to_owned(),
            E::CovenantNotEditable { status } => format!(
                "Giao ước {}; muốn thay đổi phải lập phiên bản sửa đổi",
                state_vi(status)
            ),
            E::BallotNotOpen => "Cuộc bỏ phiếu chưa mở hoặc đã kết thúc".to_owned(),
            E::BallotNotClosed => "Chỉ có kết quả sau khi kết thúc bỏ phiếu".to_owned(),
            E::NotEligible { voter } => format!("{voter} không có quyền bỏ phiếu lần này"),
            E::AlreadyVoted { voter } => format!("{voter} đã bỏ phiếu"),
            E::MutationIdTaken { id } => {
                format!(
                    "Mã thay đổi {id} đã được dùng cho một thay đổi khác; thiết bị sẽ gửi lại với mã mới"
                )
            }
            E::ForeignStamp { node, device } => format!(
                "Thay đổi mang dấu thời gian của thiết bị {node}, không phải của thiết bị gửi ({device})"
            ),
            E::InvalidChoice { max } => format!(
                "Phiếu bầu chọn phương án không có trong danh sách hoặc chọn quá {max} phương án"
            ),
            E::TooManyBallots { cast, present } => {
                format!("Có {cast} phiếu bầu nhưng chỉ {present} đại biểu có mặt")
            }
            E::PresentNotEligible { voter } => {
                format!("{voter} có mặt nhưng không có quyền bỏ phiếu")
            }
            E::BadFile { reason } => format!("Không đọc được tệp: {reason}"),
            E::MissingColumn { column } => format!("Dòng tiêu đề thiếu cột '{column}'"),
            E::UnknownCriterionKind { input } => {
                format!("'{input}' không phải loại tiêu chí (chuẩn, thưởng, trừ, loại trừ)")
            }
            E::OrphanCode { code } => {
                format!("Mã '{code}' không có dòng cha ở phía trên")
            }
            E::AtLine { line, error } => format!("Dòng {line}: {}", error.message_vi()),
        }
    }

    /// Wraps the error with the 1-based line of the file it was found on.
    pub fn at_line(self, line: usize) -> DomainError {
        DomainError::AtLine {
            line,
            error: Box::new(self),
        }
    }
}

/// Points the Vietnamese way: decimal comma, shortest form ("7,5").
fn vi(p: Points) -> String {
    p.to_string().replace('.', ",")
}

fn kind_vi(kind: &str) -> &str {
    match kind {
        "unit" => "đơn vị",
        "block" => "khối thi đua",
        "covenant" => "giao ước thi đua",
        "content" => "nội dung thi đua",
        "criterion" => "tiêu chí",
        "round" => "vòng chấm",
        "score_sheet" => "phiếu chấm",
        "score_cell" => "ô điểm",
        "ballot" => "cuộc bỏ phiếu",
        "signature" => "chữ ký",
        other => other,
    }
}

fn field_vi(field: &str) -> &str {
    match field {
        "title" => "Tên tiêu chí",
        "content title" => "Tên nội dung",
        "code" => "Mã",
        "name" => "Tên",
        "covenant title" => "Tên giao ước",
        "ballot title" => "Tên cuộc bỏ phiếu",
        "option" => "Phương án",
        other => other,
    }
}

fn state_vi(state: &str) -> &str {
    match state {
        "draft" => "bản nháp",
        "circulated" => "đã gửi lấy ý kiến",
        "agreed" => "đã thống nhất",
        "signed" => "đã ký kết",
        "open" => "đang mở",
        "locked" => "đã khóa",
        "published" => "đã công bố",
        "closed" => "đã kết thúc",
        other => other,
    }
}

fn reason_vi(reason: &str) -> &str {
    match reason {
        "each unit must score between 1 and all other members" => {
            "mỗi đơn vị phải chấm từ 1 đến tất cả các đơn vị còn lại"
        }
        "the pairs do not match the seed" => "các cặp không khớp với số hạt giống (seed)",
        "the step must be between 0.01 and 100 points" => "bước điểm phải từ 0,01 đến 100 điểm",
        "classification thresholds must not increase from excellent to completed" => {
            "ngưỡng xếp loại phải giảm dần từ xuất sắc đến hoàn thành"
        }
        "a majority fraction must be between 0 and 1" => {
            "tỷ lệ đa số phải nằm trong khoảng 0 đến 1"
        }
        "a tie-break is listed twice" => "một tiêu chí phân hạng được liệt kê hai lần",
        "an award is listed twice" => "một hình thức khen thưởng được liệt kê hai lần",
        "a ballot needs at least one option and one choice" => {
            "cuộc bỏ phiếu cần ít nhất một phương án và một lựa chọn"
        }
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

    #[test]
    fn line_numbers_keep_the_inner_code() {
        let e = DomainError::UnknownCriterionKind { input: "x".into() }.at_line(7);
        assert_eq!(e.code(), "unknown_criterion_kind");
        assert!(e.to_string().starts_with("line 7: "));
        assert!(e.message_vi().starts_with("Dòng 7: "));
    }

    #[test]
    fn points_read_the_vietnamese_way() {
        let e = DomainError::PointsOffStep {
            code: "2.3".into(),
            value: Points::from_hundredths(730),
            step: Points::from_hundredths(50),
        };
        assert_eq!(
            e.to_string(),
            "7.3 points is not a multiple of 0.5 for criterion 2.3"
        );
        assert_eq!(
            e.message_vi(),
            "7,3 điểm không phải bội số của 0,5 (tiêu chí 2.3)"
        );
    }
}
