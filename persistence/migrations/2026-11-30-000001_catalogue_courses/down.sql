DROP TABLE courses;
DROP TABLE catalog_versions;
