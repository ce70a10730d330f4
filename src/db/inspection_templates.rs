//! Inspection templates and their published versions. Each edit publishes a
//! new version; inspections keep the version they were started with.

use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{db::TenantTx, domain::inspection::Structure};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TemplateSummary {
    pub id: Uuid,
    pub name: String,
    pub kind: String,
    pub current_version: i32,
    pub archived_at: Option<OffsetDateTime>,
    pub updated_at: OffsetDateTime,
    pub inspections: i64,
}

/// Every template of the tenant, by name.
pub async fn list(tx: &mut TenantTx) -> sqlx::Result<Vec<TemplateSummary>> {
    sqlx::query_as::<_, TemplateSummary>(
        "SELECT t.id, t.name, t.kind, t.current_version, t.archived_at, t.updated_at,
                (SELECT count(*) FROM inspections i
                   JOIN inspection_template_versions v ON v.tenant_id = i.tenant_id AND v.id = i.template_version_id
                  WHERE i.tenant_id = t.tenant_id AND v.template_id = t.id) AS inspections
           FROM inspection_templates t
          WHERE t.tenant_id = $1
          ORDER BY t.archived_at IS NOT NULL, lower(t.name), t.id",
    )
    .bind(tx.tenant_id())
    .fetch_all(&mut **tx)
    .await
}

/// A template with its current version's structure.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Template {
    pub id: Uuid,
    pub name: String,
    pub kind: String,
    pub current_version: i32,
    pub version_id: Uuid,
    pub archived_at: Option<OffsetDateTime>,
    pub structure: Json<Structure>,
}

pub async fn find(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<Option<Template>> {
    sqlx::query_as::<_, Template>(
        "SELECT t.id, t.name, t.kind, t.current_version, v.id AS version_id, t.archived_at, v.structure
           FROM inspection_templates t
           JOIN inspection_template_versions v
             ON v.tenant_id = t.tenant_id AND v.template_id = t.id AND v.version = t.current_version
          WHERE t.tenant_id = $1 AND t.id = $2",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .fetch_optional(&mut **tx)
    .await
}

/// A published version, as the version list shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VersionRow {
    pub version: i32,
    pub name: String,
    pub created_at: OffsetDateTime,
    pub created_by_name: Option<String>,
    pub inspections: i64,
}

pub async fn versions(tx: &mut TenantTx, template_id: Uuid) -> sqlx::Result<Vec<VersionRow>> {
    sqlx::query_as::<_, VersionRow>(
        "SELECT v.version, v.name, v.created_at, u.name AS created_by_name,
                (SELECT count(*) FROM inspections i WHERE i.tenant_id = v.tenant_id AND i.template_version_id = v.id) AS inspections
           FROM inspection_template_versions v
           LEFT JOIN users u ON u.tenant_id = v.tenant_id AND u.id = v.created_by
          WHERE v.tenant_id = $1 AND v.template_id = $2
          ORDER BY v.version DESC",
    )
    .bind(tx.tenant_id())
    .bind(template_id)
    .fetch_all(&mut **tx)
    .await
}

/// Creates a template with its first version; returns the template's id.
pub async fn create(
    tx: &mut TenantTx,
    name: &str,
    kind: &str,
    structure: &Structure,
    by: Option<Uuid>,
) -> sqlx::Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query("INSERT INTO inspection_templates (tenant_id, id, name, kind, current_version) VALUES ($1, $2, $3, $4, 1)")
        .bind(tx.tenant_id())
        .bind(id)
        .bind(name)
        .bind(kind)
        .execute(&mut **tx)
        .await?;
    insert_version(tx, id, 1, name, kind, structure, by).await?;
    Ok(id)
}

/// Publishes a new version of the template; returns its number.
pub async fn publish(
    tx: &mut TenantTx,
    id: Uuid,
    name: &str,
    kind: &str,
    structure: &Structure,
    by: Option<Uuid>,
) -> sqlx::Result<i32> {
    let version: i32 = sqlx::query_scalar(
        "UPDATE inspection_templates SET current_version = current_version + 1, name = $3, kind = $4
          WHERE tenant_id = $1 AND id = $2 RETURNING current_version",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(name)
    .bind(kind)
    .fetch_one(&mut **tx)
    .await?;
    insert_version(tx, id, version, name, kind, structure, by).await?;
    Ok(version)
}

async fn insert_version(
    tx: &mut TenantTx,
    template_id: Uuid,
    version: i32,
    name: &str,
    kind: &str,
    structure: &Structure,
    by: Option<Uuid>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO inspection_template_versions (tenant_id, id, template_id, version, name, kind, structure, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(tx.tenant_id())
    .bind(Uuid::now_v7())
    .bind(template_id)
    .bind(version)
    .bind(name)
    .bind(kind)
    .bind(Json(structure))
    .bind(by)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Archives (or restores) a template: archived templates are not offered for new inspections.
pub async fn set_archived(tx: &mut TenantTx, id: Uuid, archived: bool) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE inspection_templates SET archived_at = CASE WHEN $3 THEN coalesce(archived_at, now()) ELSE NULL END
          WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(archived)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A template offered when scheduling an inspection: its current version.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TemplateChoice {
    pub version_id: Uuid,
    pub name: String,
    pub kind: String,
    pub version: i32,
}

pub async fn choices(tx: &mut TenantTx) -> sqlx::Result<Vec<TemplateChoice>> {
    sqlx::query_as::<_, TemplateChoice>(
        "SELECT v.id AS version_id, t.name, t.kind, v.version
           FROM inspection_templates t
           JOIN inspection_template_versions v
             ON v.tenant_id = t.tenant_id AND v.template_id = t.id AND v.version = t.current_version
          WHERE t.tenant_id = $1 AND t.archived_at IS NULL
          ORDER BY lower(t.name), t.id",
    )
    .bind(tx.tenant_id())
    .fetch_all(&mut **tx)
    .await
}
