DROP TRIGGER trigger_delete_deleted_user_resources ON users;

DROP FUNCTION delete_deleted_user_resources();

DROP TABLE api_keys;

DROP TABLE group_members;

DROP TABLE organization_members;

DROP TRIGGER trigger_insert_organization_everyone_group ON organizations;

DROP FUNCTION insert_organization_everyone_group();

DROP TABLE groups;

DROP TABLE users;

DROP TABLE organizations;

DROP TYPE api_key_scope;

DROP TYPE resource_type;

DROP TYPE login_type;

DROP TYPE user_status;
