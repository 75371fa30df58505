//! Accounts, grants, device tokens, join codes, the audit log and ballot papers: the same SQL
//! on both backends (text ids, `$n` parameters), expanded into each `Store` impl by
//! `accounts!` so it is written once.

/// A row when unit `$2` of block `$1` has its delegate at time `$3`: an account made by the
/// administrator (a password), or one that joined by code and is still signed in.
pub(super) const SEAT_TAKEN: &str = "SELECT 1 FROM grants g JOIN accounts a ON a.id = g.account_id
    WHERE g.block_id = $1 AND g.role = 'delegate' AND g.unit_id = $2
      AND (a.password_hash IS NOT NULL OR EXISTS (
        SELECT 1 FROM tokens t WHERE t.account_id = g.account_id
          AND t.revoked_ms IS NULL AND t.expires_ms > $3))
    LIMIT 1";

/// The account-side `Store` methods, for a store with a `pool` field and a `write_turn`
/// method; each write first takes the store's write turn.
macro_rules! accounts {
    () => {
        async fn create_account(&self, a: &AccountRow) -> Result<(), StoreError> {
            let _turn = self.write_turn().await;
            let res = sqlx::query(
                "INSERT INTO accounts (id, username, name, password_hash, admin, created_ms)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(a.id.to_string())
            .bind(&a.username)
            .bind(&a.name)
            .bind(a.password_hash.as_deref())
            .bind(a.admin)
            .bind($crate::store::now_ms())
            .execute(&self.pool)
            .await;
            match res {
                Ok(_) => Ok(()),
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                    Err(StoreError::Conflict)
                }
                Err(e) => Err(e.into()),
            }
        }

        async fn account_by_username(
            &self,
            username: &str,
        ) -> Result<Option<AccountRow>, StoreError> {
            let row = sqlx::query(
                // Case-insensitive, as people type names; an exact match wins where two
                // accounts differ only by case.
                "SELECT id, username, name, password_hash, admin FROM accounts \
                 WHERE lower(username) = lower($1) ORDER BY username = $1 DESC LIMIT 1",
            )
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
            row.map(|r| {
                Ok(AccountRow {
                    id: $crate::store::parse_id(&r.try_get::<String, _>(0)?)?,
                    username: r.try_get(1)?,
                    name: r.try_get(2)?,
                    password_hash: r.try_get(3)?,
                    admin: r.try_get(4)?,
                })
            })
            .transpose()
        }

        async fn principal(&self, account: Uuid) -> Result<Principal, StoreError> {
            let row = sqlx::query("SELECT name, admin FROM accounts WHERE id = $1")
                .bind(account.to_string())
                .fetch_one(&self.pool)
                .await?;
            let rows = sqlx::query(
                "SELECT block_id, role, unit_id FROM grants WHERE account_id = $1 ORDER BY block_id",
            )
            .bind(account.to_string())
            .fetch_all(&self.pool)
            .await?;
            let mut grants = Vec::with_capacity(rows.len());
            for r in rows {
                let role: String = r.try_get(1)?;
                let unit: Option<String> = r.try_get(2)?;
                grants.push(Grant {
                    block_id: $crate::store::parse_id(&r.try_get::<String, _>(0)?)?,
                    role: Role::parse(&role).ok_or_else(|| {
                        StoreError::Other(format!("unknown role {role:?}").into())
                    })?,
                    unit: unit.as_deref().map($crate::store::parse_id).transpose()?,
                });
            }
            Ok(Principal {
                account_id: account,
                name: row.try_get(0)?,
                admin: row.try_get(1)?,
                grants,
            })
        }

        async fn set_grant(&self, account: Uuid, g: &Grant) -> Result<(), StoreError> {
            let _turn = self.write_turn().await;
            sqlx::query(
                "INSERT INTO grants (account_id, block_id, role, unit_id) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (account_id, block_id) DO UPDATE SET role = excluded.role, unit_id = excluded.unit_id",
            )
            .bind(account.to_string())
            .bind(g.block_id.to_string())
            .bind(g.role.as_str())
            .bind(g.unit.map(|u| u.to_string()))
            .execute(&self.pool)
            .await?;
            Ok(())
        }

        async fn insert_token(
            &self,
            token_hash: &str,
            account: Uuid,
            device: Uuid,
            device_name: &str,
            expires_ms: i64,
        ) -> Result<(), StoreError> {
            let _turn = self.write_turn().await;
            let now = $crate::store::now_ms();
            sqlx::query(
                "INSERT INTO tokens (token_hash, account_id, device_id, device_name, created_ms, last_used_ms, expires_ms)
                 VALUES ($1, $2, $3, $4, $5, $5, $6)",
            )
            .bind(token_hash)
            .bind(account.to_string())
            .bind(device.to_string())
            .bind(device_name)
            .bind(now)
            .bind(expires_ms)
            .execute(&self.pool)
            .await?;
            Ok(())
        }

        async fn token(&self, token_hash: &str) -> Result<Option<TokenRow>, StoreError> {
            let row = sqlx::query(
                "SELECT account_id, device_id, last_used_ms, expires_ms, revoked_ms FROM tokens WHERE token_hash = $1",
            )
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
            row.map(|r| {
                Ok(TokenRow {
                    account_id: $crate::store::parse_id(&r.try_get::<String, _>(0)?)?,
                    device_id: $crate::store::parse_id(&r.try_get::<String, _>(1)?)?,
                    last_used_ms: r.try_get(2)?,
                    expires_ms: r.try_get(3)?,
                    revoked_ms: r.try_get(4)?,
                })
            })
            .transpose()
        }

        async fn register_device_key(
            &self,
            device_id: Uuid,
            account: Uuid,
            public_key: &str,
        ) -> Result<(), StoreError> {
            let _turn = self.write_turn().await;
            sqlx::query(
                "INSERT INTO device_keys (device_id, public_key, account_id, created_ms)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (device_id, public_key) DO NOTHING",
            )
            .bind(device_id.to_string())
            .bind(public_key)
            .bind(account.to_string())
            .bind($crate::store::now_ms())
            .execute(&self.pool)
            .await?;
            // A device keeps its newest keys only: however often it registers one, the table
            // stays bounded.
            sqlx::query(
                "DELETE FROM device_keys WHERE device_id = $1 AND public_key NOT IN (
                   SELECT public_key FROM device_keys WHERE device_id = $1
                   ORDER BY created_ms DESC, public_key LIMIT $2)",
            )
            .bind(device_id.to_string())
            .bind($crate::store::MAX_DEVICE_KEYS)
            .execute(&self.pool)
            .await?;
            Ok(())
        }

        async fn device_keys(&self, device_id: Uuid, now_ms: i64) -> Result<Vec<(String, Uuid)>, StoreError> {
            // Only keys of accounts that still have a live sign-in on the device: a revoked
            // or expired device signs nothing.
            let rows = sqlx::query(
                "SELECT k.public_key, k.account_id FROM device_keys k
                 WHERE k.device_id = $1 AND EXISTS (
                   SELECT 1 FROM tokens t WHERE t.device_id = k.device_id
                     AND t.account_id = k.account_id AND t.revoked_ms IS NULL AND t.expires_ms > $2)
                 ORDER BY k.created_ms DESC",
            )
            .bind(device_id.to_string())
            .bind(now_ms)
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(|r| {
                    Ok((
                        r.try_get::<String, _>(0)?,
                        $crate::store::parse_id(&r.try_get::<String, _>(1)?)?,
                    ))
                })
                .collect()
        }

        async fn touch_token(
            &self,
            token_hash: &str,
            now_ms: i64,
            expires_ms: i64,
        ) -> Result<(), StoreError> {
            let _turn = self.write_turn().await;
            sqlx::query(
                "UPDATE tokens SET last_used_ms = $2, expires_ms = $3 WHERE token_hash = $1 AND revoked_ms IS NULL",
            )
            .bind(token_hash)
            .bind(now_ms)
            .bind(expires_ms)
            .execute(&self.pool)
            .await?;
            Ok(())
        }

        async fn insert_page_session(
            &self,
            session_hash: &str,
            token_hash: &str,
            expires_ms: i64,
        ) -> Result<(), StoreError> {
            let _turn = self.write_turn().await;
            sqlx::query("DELETE FROM page_sessions WHERE token_hash = $1 OR expires_ms <= $2")
                .bind(token_hash)
                .bind($crate::store::now_ms())
                .execute(&self.pool)
                .await?;
            sqlx::query(
                "INSERT INTO page_sessions (session_hash, token_hash, expires_ms) VALUES ($1, $2, $3)",
            )
            .bind(session_hash)
            .bind(token_hash)
            .bind(expires_ms)
            .execute(&self.pool)
            .await?;
            Ok(())
        }

        async fn page_session(&self, session_hash: &str) -> Result<Option<(String, i64)>, StoreError> {
            let row = sqlx::query(
                "SELECT token_hash, expires_ms FROM page_sessions WHERE session_hash = $1",
            )
            .bind(session_hash)
            .fetch_optional(&self.pool)
            .await?;
            row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
        }

        async fn touch_page_session(&self, session_hash: &str, expires_ms: i64) -> Result<(), StoreError> {
            let _turn = self.write_turn().await;
            sqlx::query("UPDATE page_sessions SET expires_ms = $2 WHERE session_hash = $1")
                .bind(session_hash)
                .bind(expires_ms)
                .execute(&self.pool)
                .await?;
            Ok(())
        }

        async fn server_key(
            &self,
            name: &str,
            fresh: (&str, &str),
        ) -> Result<(String, String), StoreError> {
            {
                let _turn = self.write_turn().await;
                sqlx::query(
                    "INSERT INTO server_keys (name, secret, public_key) VALUES ($1, $2, $3)
                     ON CONFLICT (name) DO NOTHING",
                )
                .bind(name)
                .bind(fresh.0)
                .bind(fresh.1)
                .execute(&self.pool)
                .await?;
            }
            let row = sqlx::query("SELECT secret, public_key FROM server_keys WHERE name = $1")
                .bind(name)
                .fetch_one(&self.pool)
                .await?;
            Ok((row.try_get(0)?, row.try_get(1)?))
        }

        async fn revoke_token(&self, token_hash: &str, now_ms: i64) -> Result<(), StoreError> {
            let _turn = self.write_turn().await;
            sqlx::query(
                "UPDATE tokens SET revoked_ms = $2 WHERE token_hash = $1 AND revoked_ms IS NULL",
            )
            .bind(token_hash)
            .bind(now_ms)
            .execute(&self.pool)
            .await?;
            sqlx::query("DELETE FROM page_sessions WHERE token_hash = $1")
                .bind(token_hash)
                .execute(&self.pool)
                .await?;
            Ok(())
        }

        async fn insert_join_code(
            &self,
            code_hash: &str,
            c: &JoinCodeRow,
        ) -> Result<(), StoreError> {
            let _turn = self.write_turn().await;
            sqlx::query(
                "INSERT INTO join_codes (code_hash, block_id, role, unit_id, created_by, expires_ms)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(code_hash)
            .bind(c.grant.block_id.to_string())
            .bind(c.grant.role.as_str())
            .bind(c.grant.unit.map(|u| u.to_string()))
            .bind(c.created_by.to_string())
            .bind(c.expires_ms)
            .execute(&self.pool)
            .await?;
            Ok(())
        }

        #[allow(clippy::too_many_arguments)]
        async fn redeem_join_code(
            &self,
            code_hash: &str,
            now_ms: i64,
            account: &AccountRow,
            token_hash: &str,
            device: Uuid,
            device_name: &str,
            token_expires_ms: i64,
        ) -> Result<$crate::store::Redeemed, StoreError> {
            use $crate::store::Redeemed;
            let _turn = self.write_turn().await;
            let mut tx = self.pool.begin().await?;
            // The update is the claim: of two devices racing with one code, one row changes.
            // A refusal below drops the transaction, so the code stays unused.
            let row = sqlx::query(
                "UPDATE join_codes SET used_ms = $2
                 WHERE code_hash = $1 AND used_ms IS NULL AND expires_ms > $2
                 RETURNING block_id, role, unit_id, created_by",
            )
            .bind(code_hash)
            .bind(now_ms)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = row else {
                return Ok(Redeemed::Invalid);
            };
            let role: String = row.try_get(1)?;
            let unit: Option<String> = row.try_get(2)?;
            let issuer: String = row.try_get(3)?;
            let grant = Grant {
                block_id: $crate::store::parse_id(&row.try_get::<String, _>(0)?)?,
                role: Role::parse(&role)
                    .ok_or_else(|| StoreError::Other(format!("unknown role {role:?}").into()))?,
                unit: unit.as_deref().map($crate::store::parse_id).transpose()?,
            };
            let issuers = sqlx::query(
                "SELECT 1 FROM tokens WHERE device_id = $1 AND account_id = $2
                   AND revoked_ms IS NULL AND expires_ms > $3",
            )
            .bind(device.to_string())
            .bind(&issuer)
            .bind(now_ms)
            .fetch_optional(&mut *tx)
            .await?;
            if issuers.is_some() {
                return Ok(Redeemed::IssuersDevice);
            }
            if let (Role::Delegate, Some(u)) = (grant.role, grant.unit) {
                let taken = sqlx::query(SEAT_TAKEN)
                    .bind(grant.block_id.to_string())
                    .bind(u.to_string())
                    .bind(now_ms)
                    .fetch_optional(&mut *tx)
                    .await?;
                if taken.is_some() {
                    return Ok(Redeemed::SeatTaken);
                }
            }
            sqlx::query(
                "INSERT INTO accounts (id, username, name, password_hash, admin, created_ms)
                 VALUES ($1, $2, $3, NULL, $4, $5)",
            )
            .bind(account.id.to_string())
            .bind(&account.username)
            .bind(&account.name)
            .bind(false)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO grants (account_id, block_id, role, unit_id) VALUES ($1, $2, $3, $4)",
            )
            .bind(account.id.to_string())
            .bind(grant.block_id.to_string())
            .bind(grant.role.as_str())
            .bind(grant.unit.map(|u| u.to_string()))
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO tokens (token_hash, account_id, device_id, device_name, created_ms, last_used_ms, expires_ms)
                 VALUES ($1, $2, $3, $4, $5, $5, $6)",
            )
            .bind(token_hash)
            .bind(account.id.to_string())
            .bind(device.to_string())
            .bind(device_name)
            .bind(now_ms)
            .bind(token_expires_ms)
            .execute(&mut *tx)
            .await?;
            // Who joined for what, on which device, by whose code: the block's audit shows it.
            let what = serde_json::json!({
                "role": grant.role.as_str(),
                "unit": grant.unit,
                "device_name": device_name,
                "code_issued_by": issuer,
            });
            sqlx::query(AUDIT_EVENT)
                .bind(Uuid::now_v7().to_string())
                .bind(device.to_string())
                .bind(account.id.to_string())
                .bind(grant.unit.unwrap_or(grant.block_id).to_string())
                .bind(grant.block_id.to_string())
                .bind("join")
                .bind(what.to_string())
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(Redeemed::Joined(grant))
        }

        async fn seat_taken(&self, block: Uuid, unit: Uuid, now_ms: i64) -> Result<bool, StoreError> {
            let row = sqlx::query(SEAT_TAKEN)
                .bind(block.to_string())
                .bind(unit.to_string())
                .bind(now_ms)
                .fetch_optional(&self.pool)
                .await?;
            Ok(row.is_some())
        }

        async fn revoke_device(&self, device: Uuid, by: Uuid, now_ms: i64) -> Result<u64, StoreError> {
            let _turn = self.write_turn().await;
            let mut tx = self.pool.begin().await?;
            let grants = sqlx::query(
                "SELECT DISTINCT t.account_id, g.block_id, g.role, g.unit_id FROM tokens t
                 JOIN grants g ON g.account_id = t.account_id
                 WHERE t.device_id = $1 AND t.revoked_ms IS NULL AND t.expires_ms > $2",
            )
            .bind(device.to_string())
            .bind(now_ms)
            .fetch_all(&mut *tx)
            .await?;
            let revoked = sqlx::query(
                "UPDATE tokens SET revoked_ms = $2 WHERE device_id = $1 AND revoked_ms IS NULL",
            )
            .bind(device.to_string())
            .bind(now_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            sqlx::query(
                "DELETE FROM page_sessions WHERE token_hash IN (SELECT token_hash FROM tokens WHERE device_id = $1)",
            )
            .bind(device.to_string())
            .execute(&mut *tx)
            .await?;
            for g in &grants {
                let account: String = g.try_get(0)?;
                let block: String = g.try_get(1)?;
                let role: String = g.try_get(2)?;
                let unit: Option<String> = g.try_get(3)?;
                let what = serde_json::json!({
                    "role": role, "unit": unit, "account": account, "revoked_by": by.to_string(),
                });
                sqlx::query(AUDIT_EVENT)
                    .bind(Uuid::now_v7().to_string())
                    .bind(device.to_string())
                    .bind(by.to_string())
                    .bind(unit.unwrap_or_else(|| block.clone()))
                    .bind(&block)
                    .bind("revoke_device")
                    .bind(what.to_string())
                    .bind(now_ms)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(revoked)
        }

        async fn corrections(
            &self,
            block: Uuid,
        ) -> Result<Vec<shared::correction::CorrectionLine>, StoreError> {
            let rows = sqlx::query(
                "SELECT CAST(record_id AS TEXT), CAST(old_value AS TEXT), CAST(new_value AS TEXT), reason
                 FROM audit_log WHERE block_id = $1 AND field = 'correct' ORDER BY id",
            )
            .bind(block.to_string())
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(|r| {
                    Ok(shared::correction::CorrectionLine {
                        cell: $crate::store::parse_id(&r.try_get::<String, _>(0)?)?,
                        old: r.try_get(1)?,
                        new: r.try_get(2)?,
                        reason: r.try_get::<Option<String>, _>(3)?.unwrap_or_default(),
                    })
                })
                .collect()
        }

        async fn audit(
            &self,
            block: Uuid,
            after: i64,
            limit: u32,
        ) -> Result<Vec<AuditRow>, StoreError> {
            let rows = sqlx::query(
                "SELECT id, server_ms, account_id, CAST(device_id AS TEXT), CAST(mutation_id AS TEXT),
                        CAST(client_hlc AS TEXT), CAST(record_id AS TEXT), field,
                        CAST(old_value AS TEXT), CAST(new_value AS TEXT), won, reason
                 FROM audit_log WHERE block_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            )
            .bind(block.to_string())
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(|r| {
                    Ok(AuditRow {
                        id: r.try_get(0)?,
                        server_ms: r.try_get(1)?,
                        account_id: r.try_get(2)?,
                        device_id: r.try_get(3)?,
                        mutation_id: r.try_get(4)?,
                        client_hlc: r.try_get(5)?,
                        record_id: r.try_get(6)?,
                        op: r.try_get(7)?,
                        old_value: r.try_get(8)?,
                        new_value: r.try_get(9)?,
                        won: r.try_get(10)?,
                        reason: r.try_get(11)?,
                    })
                })
                .collect()
        }

        async fn papers(&self, ballot: Uuid) -> Result<Vec<BallotPaper>, StoreError> {
            let stored: Option<String> =
                sqlx::query_scalar("SELECT papers FROM ballot_boxes WHERE ballot_id = $1")
                    .bind(ballot.to_string())
                    .fetch_optional(&self.pool)
                    .await?;
            Ok(stored.as_deref().map(super::box_papers).transpose()?.unwrap_or_default())
        }
    };
}

pub(crate) use accounts;
