-- One database and one login role per service: a service can reach only its own data
-- (DESIGN.md: no shared tables). Run once by the postgres image on an empty data directory
-- (docker-compose mounts it into /docker-entrypoint-initdb.d/), or by hand / by your
-- PostgreSQL operator in Kubernetes. The passwords below are for a laptop ONLY; production
-- roles get generated passwords that live in the omnistock-secrets Secret.
CREATE ROLE catalog LOGIN PASSWORD 'catalog-dev-only';
CREATE DATABASE catalog OWNER catalog;

CREATE ROLE inventory LOGIN PASSWORD 'inventory-dev-only';
CREATE DATABASE inventory OWNER inventory;

CREATE ROLE gateway LOGIN PASSWORD 'gateway-dev-only';
CREATE DATABASE gateway OWNER gateway;

-- orders: unified orders, lines, fulfillments, raw channel payloads, the orders outbox.
CREATE ROLE orders LOGIN PASSWORD 'orders-dev-only';
CREATE DATABASE orders OWNER orders;

-- channels: connections and their ENCRYPTED channel credentials (CREDENTIALS_KEYS), listings,
-- sync log, webhook deliveries. The connectors keep no database.
CREATE ROLE channels LOGIN PASSWORD 'channels-dev-only';
CREATE DATABASE channels OWNER channels;

-- Nobody else may connect to a service's database.
REVOKE CONNECT ON DATABASE catalog FROM PUBLIC;
REVOKE CONNECT ON DATABASE inventory FROM PUBLIC;
REVOKE CONNECT ON DATABASE gateway FROM PUBLIC;
REVOKE CONNECT ON DATABASE channels FROM PUBLIC;
REVOKE CONNECT ON DATABASE orders FROM PUBLIC;
