-- GENERATED from deploy/deployables.toml by `make generate`: edit the registry, not this file.
-- One database and one login role per service (each deployable's `database`): a service can
-- reach only its own data (no shared tables). Run once by the postgres image on an empty data
-- directory (docker-compose mounts it into /docker-entrypoint-initdb.d/), or by hand / by your
-- PostgreSQL operator in Kubernetes. The passwords are the [secrets] dev URLs' and are for a
-- laptop ONLY; production roles get generated passwords that live in the omnistock-secrets
-- Secret. Connectors keep no database.
CREATE ROLE catalog LOGIN PASSWORD 'catalog-dev-only';
CREATE DATABASE catalog OWNER catalog;

CREATE ROLE inventory LOGIN PASSWORD 'inventory-dev-only';
CREATE DATABASE inventory OWNER inventory;

CREATE ROLE orders LOGIN PASSWORD 'orders-dev-only';
CREATE DATABASE orders OWNER orders;

CREATE ROLE pricing LOGIN PASSWORD 'pricing-dev-only';
CREATE DATABASE pricing OWNER pricing;

CREATE ROLE channels LOGIN PASSWORD 'channels-dev-only';
CREATE DATABASE channels OWNER channels;

CREATE ROLE gateway LOGIN PASSWORD 'gateway-dev-only';
CREATE DATABASE gateway OWNER gateway;

-- Nobody else may connect to a service's database.
REVOKE CONNECT ON DATABASE catalog FROM PUBLIC;
REVOKE CONNECT ON DATABASE inventory FROM PUBLIC;
REVOKE CONNECT ON DATABASE orders FROM PUBLIC;
REVOKE CONNECT ON DATABASE pricing FROM PUBLIC;
REVOKE CONNECT ON DATABASE channels FROM PUBLIC;
REVOKE CONNECT ON DATABASE gateway FROM PUBLIC;
