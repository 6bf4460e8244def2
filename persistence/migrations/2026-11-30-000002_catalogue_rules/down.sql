DROP TABLE rounds;
DROP TABLE certificate_rules;
DROP TABLE degree_rules;
DROP TABLE major_plan_courses;
DROP TABLE majors;
ALTER TABLE catalog_versions DROP COLUMN document;
