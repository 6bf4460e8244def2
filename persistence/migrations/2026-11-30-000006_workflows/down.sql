DROP TABLE history;
DROP TABLE application_items;
DROP TABLE certification_applications;
DROP TABLE prior_degrees;
