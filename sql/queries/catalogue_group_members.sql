-- The last loaded comparison group members.
SELECT group_id, member_id, member_title
FROM core.municipality_group_member
ORDER BY group_id, member_id
