//! Stored enum values: an unknown value in a column is an error, never a default.

use diesel::RunQueryDsl;
use diesel::connection::SimpleConnection;
use tests::UseCaseDb;

#[test]
fn an_unknown_stored_status_is_an_error_not_a_default() {
    let mut db = UseCaseDb::with_sample();
    // A value no variant names can only come from outside the service: lift the
    // CHECK constraint to store one, as a faulty migration or a hand edit would.
    db.conn
        .batch_execute(
            "ALTER TABLE certification_applications DROP CONSTRAINT IF EXISTS certification_applications_status_check;
             INSERT INTO accounts (id, role, name, exam_number, id_number, major_code, password_hash)
             VALUES ('00000000-0000-7000-8000-000000000001', 'candidate', '测试', '010123456789', '420102199901010011', '100701', 'x');",
        )
        .expect("prepare");
    let inserted = diesel::sql_query(format!(
        "INSERT INTO certification_applications (id, candidate_id, round_id, major_code, kind, status,
             certificate_kind, certificate_number, certificate_obtained_on)
         VALUES ('00000000-0000-7000-8000-000000000002', '00000000-0000-7000-8000-000000000001', '{}',
             '100701', 'certificate', 'lost', 'cet4', 'CET4-1', '2020-01-01')",
        db.round.id
    ))
    .execute(&mut db.conn);
    if let Err(e) = inserted {
        panic!("insert a row with an unknown status: {e}");
    }
    let read = persistence::applications::get(
        &mut db.conn,
        "00000000-0000-7000-8000-000000000002".parse().unwrap(),
    );
    let err = read.expect_err("an unknown status must not read as a default");
    assert!(
        err.to_string().contains("status"),
        "the error names the column: {err}"
    );
}
