DROP INDEX IF EXISTS accounts_candidate_school_exam_idx;
DROP INDEX IF EXISTS accounts_candidate_exam_prefix_idx;
