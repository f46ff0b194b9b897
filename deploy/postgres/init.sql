-- One database per service (DESIGN: "each service owns its data").
-- Runs once, when the postgres container initialises an empty data volume
-- (/docker-entrypoint-initdb.d). Tables are created by each service's Alembic
-- migrations (`townhall migrate`), never here.
CREATE DATABASE townhall_directory;
CREATE DATABASE townhall_consent;
CREATE DATABASE townhall_credits;
CREATE DATABASE townhall_messaging;
CREATE DATABASE townhall_tickets;
CREATE DATABASE townhall_reports;
