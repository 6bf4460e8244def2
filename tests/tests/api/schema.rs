//! `schema.rs` matches the migrations, and every migration reverts cleanly.

use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel::sql_types::Text;
use tests::fresh_database;

/// (table, column) → (type as information_schema spells it, nullable), from schema.rs.
fn declared() -> BTreeMap<(String, String), (String, bool)> {
    let text = include_str!("../../../persistence/src/schema.rs");
    let mut out = BTreeMap::new();
    let mut table = None;
    for line in text.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_suffix('{')
            && let Some((name, _)) = rest.split_once(" (")
            && !name.contains("table!")
        {
            table = Some(name.trim().to_owned());
            continue;
        }
        if line == "}" {
            table = None;
            continue;
        }
        let (Some(t), Some((column, ty))) = (&table, line.trim_end_matches(',').split_once(" -> "))
        else {
            continue;
        };
        let nullable = ty.starts_with("Nullable<");
        let inner = ty.trim_start_matches("Nullable<").trim_end_matches('>');
        let pg = match inner.split('<').next().unwrap() {
            "Uuid" => "uuid",
            "Text" => "text",
            "Int8" => "bigint",
            "Int4" => "integer",
            "Int2" => "smallint",
            "Bool" => "boolean",
            "Timestamptz" => "timestamp with time zone",
            "Date" => "date",
            "Jsonb" => "jsonb",
            "Bytea" => "bytea",
            "Array" => "ARRAY",
            other => panic!("unmapped diesel type {other}"),
        };
        out.insert(
            (t.clone(), column.trim().to_owned()),
            (pg.to_owned(), nullable),
        );
    }
    out
}

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Text)]
    is_nullable: String,
}

#[test]
fn schema_rs_matches_the_migrated_database() {
    let (url, _) = fresh_database();
    let mut conn = PgConnection::establish(&url).unwrap();
    let actual: BTreeMap<(String, String), (String, bool)> = diesel::sql_query(
        "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text
         FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
    )
    .load::<Column>(&mut conn)
    .unwrap()
    .into_iter()
    .map(|c| {
        (
            (c.table_name, c.column_name),
            (c.data_type, c.is_nullable == "YES"),
        )
    })
    .collect();
    let declared = declared();
    let missing: Vec<_> = actual
        .keys()
        .filter(|k| !declared.contains_key(*k))
        .collect();
    let extra: Vec<_> = declared
        .keys()
        .filter(|k| !actual.contains_key(*k))
        .collect();
    assert!(
        missing.is_empty(),
        "columns in the database but not in schema.rs: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "columns in schema.rs but not in the database: {extra:?}"
    );
    for (key, want) in &declared {
        assert_eq!(&actual[key], want, "type or nullability of {key:?}");
    }
}

#[test]
fn every_migration_reverts_and_reapplies() {
    use diesel_migrations::MigrationHarness;
    let (url, _) = fresh_database();
    let mut conn = PgConnection::establish(&url).unwrap();
    conn.revert_all_migrations(persistence::pool::MIGRATIONS)
        .expect("down.sql of every migration");
    let tables: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "(SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations')",
    ))
    .get_result(&mut conn)
    .unwrap();
    assert_eq!(tables, 0, "down.sql leaves tables behind");
    persistence::pool::run_migrations(&mut conn).expect("up.sql again");
}
