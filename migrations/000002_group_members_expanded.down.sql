DROP VIEW group_members_expanded;
