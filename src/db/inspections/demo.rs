//! Demo inspections.

use super::*;

// ---------------------------------------------------------------- demo data

fn demo_item(key: &str, label: &str, kind: AnswerKind, photo: bool, trade: Option<&str>) -> Item {
    Item {
        key: key.to_owned(),
        label: label.to_owned(),
        kind,
        photo_required_on_fail: photo,
        trade: trade.map(str::to_owned),
    }
}

fn demo_structures() -> (Structure, Structure) {
    use AnswerKind::{Number, PassFail, Text};
    let pre_completion = Structure {
        sections: vec![
            Section {
                title: "Kitchen".into(),
                items: vec![
                    demo_item(
                        "1-1",
                        "Worktops sealed and free of chips",
                        PassFail,
                        true,
                        Some("kitchens"),
                    ),
                    demo_item(
                        "1-2",
                        "Cupboard doors aligned",
                        PassFail,
                        false,
                        Some("carpentry"),
                    ),
                    demo_item(
                        "1-3",
                        "Extractor fan works",
                        PassFail,
                        false,
                        Some("electrical"),
                    ),
                ],
            },
            Section {
                title: "Bathroom".into(),
                items: vec![
                    demo_item(
                        "2-1",
                        "Silicone seals complete",
                        PassFail,
                        true,
                        Some("plumbing"),
                    ),
                    demo_item(
                        "2-2",
                        "No leaks under basin",
                        PassFail,
                        true,
                        Some("plumbing"),
                    ),
                ],
            },
            Section {
                title: "Outside".into(),
                items: vec![
                    demo_item(
                        "3-1",
                        "Gutters clear and fixed",
                        PassFail,
                        false,
                        Some("roofing"),
                    ),
                    demo_item("3-2", "Meter readings noted", Text, false, None),
                ],
            },
        ],
    };
    let home_demo = Structure {
        sections: vec![
            Section {
                title: "Heating and hot water".into(),
                items: vec![
                    demo_item(
                        "1-1",
                        "Boiler controls explained",
                        PassFail,
                        false,
                        Some("heating"),
                    ),
                    demo_item("1-2", "Boiler pressure (bar)", Number, false, None),
                ],
            },
            Section {
                title: "Safety".into(),
                items: vec![
                    demo_item(
                        "2-1",
                        "Smoke alarms tested",
                        PassFail,
                        false,
                        Some("electrical"),
                    ),
                    demo_item(
                        "2-2",
                        "Stopcock location shown",
                        PassFail,
                        false,
                        Some("plumbing"),
                    ),
                ],
            },
        ],
    };
    (pre_completion, home_demo)
}

/// Two templates and a few completed inspections on handed-over demo plots. Runs once per tenant.
pub async fn load_demo(tx: &mut TenantTx) -> sqlx::Result<()> {
    let exists: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM inspection_templates WHERE tenant_id = $1)",
    )
    .bind(tx.tenant_id())
    .fetch_one(&mut **tx)
    .await?;
    if exists {
        return Ok(());
    }
    let (pre_completion, home_demo) = demo_structures();
    let pre_id = crate::db::inspection_templates::create(
        tx,
        "Pre-completion quality check",
        "pre_completion",
        &pre_completion,
        None,
    )
    .await?;
    let demo_id = crate::db::inspection_templates::create(
        tx,
        "Home demonstration",
        "home_demonstration",
        &home_demo,
        None,
    )
    .await?;
    let versions: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "SELECT template_id, id FROM inspection_template_versions WHERE tenant_id = $1 AND template_id = ANY($2)",
    )
    .bind(tx.tenant_id())
    .bind(vec![pre_id, demo_id])
    .fetch_all(&mut **tx)
    .await?;
    let version_of = |t: Uuid| versions.iter().find(|(tid, _)| *tid == t).map(|(_, v)| *v);
    let (Some(pre_version), Some(demo_version)) = (version_of(pre_id), version_of(demo_id)) else {
        return Ok(());
    };
    let plots: Vec<(Uuid, Uuid, Date)> = sqlx::query_as(
        "SELECT id, scheme_id, completion_date FROM plots
          WHERE tenant_id = $1 AND completion_date IS NOT NULL AND archived_at IS NULL
          ORDER BY completion_date DESC, id LIMIT 6",
    )
    .bind(tx.tenant_id())
    .fetch_all(&mut **tx)
    .await?;
    let inspector: Option<Uuid> = sqlx::query_scalar(
        "SELECT id FROM users WHERE tenant_id = $1 AND role IN ('staff', 'admin') AND disabled_at IS NULL ORDER BY role DESC, created_at LIMIT 1",
    )
    .bind(tx.tenant_id())
    .fetch_optional(&mut **tx)
    .await?;
    for (n, (plot_id, scheme_id, completion)) in plots.into_iter().enumerate() {
        let pre = n % 2 == 0;
        let (version, kind, structure) = if pre {
            (pre_version, "pre_completion", &pre_completion)
        } else {
            (demo_version, "home_demonstration", &home_demo)
        };
        let scheduled_on = if pre {
            completion - time::Duration::days(7)
        } else {
            completion
        };
        let id = create(
            tx,
            &NewInspection {
                plot_id,
                scheme_id,
                template_version_id: version,
                kind: kind.to_owned(),
                scheduled_on,
                inspector_user_id: inspector,
                inspector_contact_id: None,
                created_by: inspector,
            },
        )
        .await?;
        let mut failed = false;
        for section in &structure.sections {
            for item in &section.items {
                let (answer, notes) = match item.kind {
                    AnswerKind::PassFail if n == 0 && item.key == "1-2" => {
                        failed = true;
                        ("fail", "Two wall units sit 5 mm proud; adjust hinges.")
                    }
                    AnswerKind::PassFail => ("pass", ""),
                    AnswerKind::Number => ("1.4", ""),
                    AnswerKind::Text => ("Gas 00012, electricity 00345", ""),
                    AnswerKind::Photo => continue,
                };
                if let Some(by) = inspector {
                    save_result(tx, id, &item.key, Some(answer), notes, by).await?;
                }
            }
        }
        complete(tx, id, if failed { "pass_with_defects" } else { "pass" }).await?;
        if !pre {
            sign_off(tx, id, "Demo homeowner", completion).await?;
        }
    }
    Ok(())
}
