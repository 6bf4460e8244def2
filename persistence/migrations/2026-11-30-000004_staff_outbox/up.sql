-- Staff search candidates by exam-number prefix within their school (R19):
-- `LIKE 'prefix%'` can use a text_pattern_ops index whatever the collation.
CREATE INDEX accounts_candidate_exam_prefix_idx
    ON accounts (exam_number text_pattern_ops) WHERE role = 'candidate';
-- A school's candidates in list order.
CREATE INDEX accounts_candidate_school_exam_idx
    ON accounts (school_code, exam_number) WHERE role = 'candidate';
