fn main() {
    for sql in [
        "CREATE INDEX users_email_idx ON users (email)",
        "CREATE INDEX users_email_idx ON users USING btree (email) WITH (fillfactor = 70) TABLESPACE pg_default",
        "CREATE INDEX CONCURRENTLY users_email_idx ON ONLY users (email)",
        "ALTER TABLE users ADD COLUMN n int NOT NULL",
        "ALTER TABLE ONLY users ADD COLUMN n int NOT NULL",
        "ALTER TABLE users ADD COLUMN n int NOT NULL, ALTER COLUMN name SET STATISTICS 100",
        "ALTER TABLE users ADD COLUMN n int NOT NULL COLLATE \"C\" ",
        "ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid()",
        "ALTER TABLE users ADD COLUMN id2 bigint GENERATED ALWAYS AS IDENTITY",
        "ALTER TABLE users ADD COLUMN s bigserial",
        "ALTER TABLE users ADD CONSTRAINT c CHECK (n > 0)",
        "ALTER TABLE users ADD CONSTRAINT c CHECK (n > 0) NOT VALID",
        "ALTER TABLE users ADD CONSTRAINT f FOREIGN KEY (o) REFERENCES orgs (id) NOT VALID",
        "ALTER TABLE users DROP COLUMN email",
        "ALTER TABLE users RENAME COLUMN email TO mail",
        "ALTER TABLE users RENAME TO people",
        "ALTER TABLE IF EXISTS ONLY users RENAME TO people",
        "DROP TABLE users",
        "DROP TABLE users CASCADE",
        "ALTER TYPE mood ADD VALUE 'meh'",
        "ALTER TYPE mood ADD VALUE IF NOT EXISTS 'meh' BEFORE 'ok'",
        "INSERT INTO t (m) VALUES ('meh')",
        "ALTER TABLE users ALTER COLUMN email SET COMPRESSION lz4, ADD COLUMN z int NOT NULL",
        "ALTER TABLE users ADD COLUMN z int NOT NULL, REPLICA IDENTITY FULL",
        "ALTER TABLE users ADD COLUMN z int NOT NULL, SET (fillfactor = 70)",
        "CREATE INDEX i ON users (email) NULLS NOT DISTINCT",
        "CREATE INDEX i ON users (email DESC NULLS LAST) INCLUDE (a) WHERE a > 1",
        "ALTER TABLE users ADD COLUMN z int NOT NULL, CLUSTER ON users_pkey",
        "ALTER TABLE users OWNER TO bob, ADD COLUMN z int NOT NULL",
    ] {
        match check::lint::ast::parse(sql) {
            Ok(st) => println!("OK   {sql}\n     {:?}", check::lint::ast::facts(&st)),
            Err(e) => println!(
                "FAIL {sql}\n     {e}\n     tokens: {:?}",
                check::lint::tokens::facts(&check::lint::tokens::tokenize(sql).unwrap())
            ),
        }
    }
}
