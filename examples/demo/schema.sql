-- examples/demo/schema.sql -- the demo's template: a shop backend of 50 tables
-- (the 41 tables of examples/pytest-xdist/app/models, as SQLAlchemy creates
-- them, plus a small CRM), with foreign keys, unique and check constraints,
-- indexes, a view, a trigger, and a few thousand seed rows.
-- Plain SQL, one transaction: psql -v ON_ERROR_STOP=1 -1 -f schema.sql
SET client_min_messages = warning;

CREATE TABLE organizations (
	id SERIAL NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
	name VARCHAR(120) NOT NULL,
	plan VARCHAR(20) NOT NULL,
	seats INTEGER NOT NULL,
	CONSTRAINT pk_organizations PRIMARY KEY (id),
	CONSTRAINT ck_organizations_plan CHECK (plan IN ('free', 'team', 'enterprise')),
	CONSTRAINT ck_organizations_seats_positive CHECK (seats > 0),
	CONSTRAINT uq_organizations_name UNIQUE (name)
);

CREATE TABLE roles (
	id SERIAL NOT NULL,
	name VARCHAR(40) NOT NULL,
	CONSTRAINT pk_roles PRIMARY KEY (id),
	CONSTRAINT ck_roles_lowercase CHECK (name = lower(name)),
	CONSTRAINT uq_roles_name UNIQUE (name)
);

CREATE TABLE audit_log (
	id SERIAL NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
	worker VARCHAR(40) NOT NULL,
	action VARCHAR(60) NOT NULL,
	subject VARCHAR(120) NOT NULL,
	CONSTRAINT pk_audit_log PRIMARY KEY (id)
);

CREATE INDEX ix_audit_log_worker ON audit_log (worker);

CREATE TABLE categories (
	id SERIAL NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
	parent_id INTEGER,
	slug VARCHAR(80) NOT NULL,
	name VARCHAR(120) NOT NULL,
	CONSTRAINT pk_categories PRIMARY KEY (id),
	CONSTRAINT ck_categories_slug_format CHECK (slug ~ '^[a-z0-9-]+$'),
	CONSTRAINT ck_categories_not_own_parent CHECK (parent_id IS NULL OR parent_id <> id),
	CONSTRAINT fk_categories_parent_id_categories FOREIGN KEY(parent_id) REFERENCES categories (id) ON DELETE SET NULL,
	CONSTRAINT uq_categories_slug UNIQUE (slug)
);

CREATE INDEX ix_categories_parent_id ON categories (parent_id);

CREATE TABLE brands (
	id SERIAL NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
	name VARCHAR(120) NOT NULL,
	CONSTRAINT pk_brands PRIMARY KEY (id),
	CONSTRAINT uq_brands_name UNIQUE (name)
);

CREATE TABLE tags (
	id SERIAL NOT NULL,
	name VARCHAR(40) NOT NULL,
	CONSTRAINT pk_tags PRIMARY KEY (id),
	CONSTRAINT uq_tags_name UNIQUE (name)
);

CREATE TABLE price_lists (
	id SERIAL NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
	name VARCHAR(80) NOT NULL,
	currency VARCHAR(3) NOT NULL,
	valid_from DATE NOT NULL,
	valid_to DATE,
	CONSTRAINT pk_price_lists PRIMARY KEY (id),
	CONSTRAINT ck_price_lists_valid_range CHECK (valid_to IS NULL OR valid_to > valid_from),
	CONSTRAINT ck_price_lists_currency_iso CHECK (currency ~ '^[A-Z]{3}$'),
	CONSTRAINT uq_price_lists_name UNIQUE (name)
);

CREATE TABLE warehouses (
	id SERIAL NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
	code VARCHAR(10) NOT NULL,
	city VARCHAR(100) NOT NULL,
	capacity INTEGER NOT NULL,
	CONSTRAINT pk_warehouses PRIMARY KEY (id),
	CONSTRAINT ck_warehouses_capacity_positive CHECK (capacity > 0),
	CONSTRAINT uq_warehouses_code UNIQUE (code)
);

CREATE TABLE suppliers (
	id SERIAL NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
	name VARCHAR(120) NOT NULL,
	email VARCHAR(254),
	lead_time_days INTEGER NOT NULL,
	CONSTRAINT pk_suppliers PRIMARY KEY (id),
	CONSTRAINT ck_suppliers_lead_time CHECK (lead_time_days BETWEEN 0 AND 365),
	CONSTRAINT uq_suppliers_name UNIQUE (name)
);

CREATE TABLE coupons (
	id SERIAL NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
	code VARCHAR(20) NOT NULL,
	percent_off INTEGER NOT NULL,
	max_redemptions INTEGER,
	CONSTRAINT pk_coupons PRIMARY KEY (id),
	CONSTRAINT ck_coupons_percent_range CHECK (percent_off BETWEEN 1 AND 100),
	CONSTRAINT ck_coupons_code_upper CHECK (code = upper(code)),
	CONSTRAINT uq_coupons_code UNIQUE (code)
);

CREATE TABLE users (
	id SERIAL NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
	organization_id INTEGER NOT NULL,
	email VARCHAR(254) NOT NULL,
	display_name VARCHAR(120) NOT NULL,
	is_active BOOLEAN NOT NULL,
	CONSTRAINT pk_users PRIMARY KEY (id),
	CONSTRAINT ck_users_email_has_at CHECK (position('@' in email) > 1),
	CONSTRAINT fk_users_organization_id_organizations FOREIGN KEY(organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
	CONSTRAINT uq_users_email UNIQUE (email)
);

CREATE INDEX ix_users_organization_id ON users (organization_id);

CREATE TABLE invitations (
	id SERIAL NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
	organization_id INTEGER NOT NULL,
	email VARCHAR(254) NOT NULL,
	accepted BOOLEAN NOT NULL,
	CONSTRAINT pk_invitations PRIMARY KEY (id),
	CONSTRAINT uq_invitations_organization_id UNIQUE (organization_id, email),
	CONSTRAINT fk_invitations_organization_id_organizations FOREIGN KEY(organization_id) REFERENCES organizations (id) ON DELETE CASCADE
);

CREATE TABLE products (
	id SERIAL NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
	category_id INTEGER NOT NULL,
	brand_id INTEGER,
	sku VARCHAR(32) NOT NULL,
	name VARCHAR(200) NOT NULL,
	description TEXT,
	price NUMERIC(12, 2) NOT NULL,
	is_active BOOLEAN NOT NULL,
	CONSTRAINT pk_products PRIMARY KEY (id),
	CONSTRAINT ck_products_price_nonneg CHECK (price >= 0),
	CONSTRAINT fk_products_category_id_categories FOREIGN KEY(category_id) REFERENCES categories (id),
	CONSTRAINT fk_products_brand_id_brands FOREIGN KEY(brand_id) REFERENCES brands (id),
	CONSTRAINT uq_products_sku UNIQUE (sku)
);

CREATE INDEX ix_products_category_id ON products (category_id);

CREATE INDEX ix_products_brand_id ON products (brand_id);

CREATE INDEX ix_products_active_name ON products (is_active, name);

CREATE TABLE purchase_orders (
	id SERIAL NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
	supplier_id INTEGER NOT NULL,
	warehouse_id INTEGER NOT NULL,
	status VARCHAR(12) NOT NULL,
	expected_on DATE,
	CONSTRAINT pk_purchase_orders PRIMARY KEY (id),
	CONSTRAINT ck_purchase_orders_status CHECK (status IN ('draft', 'sent', 'received', 'cancelled')),
	CONSTRAINT fk_purchase_orders_supplier_id_suppliers FOREIGN KEY(supplier_id) REFERENCES suppliers (id),
	CONSTRAINT fk_purchase_orders_warehouse_id_warehouses FOREIGN KEY(warehouse_id) REFERENCES warehouses (id)
);

CREATE INDEX ix_purchase_orders_supplier_id ON purchase_orders (supplier_id);

CREATE INDEX ix_purchase_orders_warehouse_id ON purchase_orders (warehouse_id);

CREATE TABLE webhooks (
	id SERIAL NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
	organization_id INTEGER NOT NULL,
	url VARCHAR(500) NOT NULL,
	event VARCHAR(40) NOT NULL,
	CONSTRAINT pk_webhooks PRIMARY KEY (id),
	CONSTRAINT ck_webhooks_https_only CHECK (url LIKE 'https://%%'),
	CONSTRAINT fk_webhooks_organization_id_organizations FOREIGN KEY(organization_id) REFERENCES organizations (id) ON DELETE CASCADE
);

CREATE INDEX ix_webhooks_organization_id ON webhooks (organization_id);

CREATE TABLE user_roles (
	user_id INTEGER NOT NULL,
	role_id INTEGER NOT NULL,
	CONSTRAINT pk_user_roles PRIMARY KEY (user_id, role_id),
	CONSTRAINT fk_user_roles_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE,
	CONSTRAINT fk_user_roles_role_id_roles FOREIGN KEY(role_id) REFERENCES roles (id) ON DELETE CASCADE
);

CREATE INDEX ix_user_roles_role_id ON user_roles (role_id);

CREATE TABLE api_keys (
	id SERIAL NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
	user_id INTEGER NOT NULL,
	prefix VARCHAR(8) NOT NULL,
	secret_hash VARCHAR(64) NOT NULL,
	revoked_at TIMESTAMP WITH TIME ZONE,
	CONSTRAINT pk_api_keys PRIMARY KEY (id),
	CONSTRAINT ck_api_keys_hash_len CHECK (length(secret_hash) = 64),
	CONSTRAINT fk_api_keys_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE,
	CONSTRAINT uq_api_keys_prefix UNIQUE (prefix)
);

CREATE INDEX ix_api_keys_user_id ON api_keys (user_id);

CREATE TABLE addresses (
	id SERIAL NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
	user_id INTEGER NOT NULL,
	line1 VARCHAR(200) NOT NULL,
	city VARCHAR(100) NOT NULL,
	country VARCHAR(2) NOT NULL,
	postcode VARCHAR(12),
	CONSTRAINT pk_addresses PRIMARY KEY (id),
	CONSTRAINT ck_addresses_country_iso CHECK (country ~ '^[A-Z]{2}$'),
	CONSTRAINT fk_addresses_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX ix_addresses_user_id ON addresses (user_id);

CREATE TABLE login_sessions (
	id SERIAL NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
	user_id INTEGER NOT NULL,
	token VARCHAR(64) NOT NULL,
	expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
	CONSTRAINT pk_login_sessions PRIMARY KEY (id),
	CONSTRAINT ck_login_sessions_expires_after_created CHECK (expires_at > created_at),
	CONSTRAINT fk_login_sessions_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE,
	CONSTRAINT uq_login_sessions_token UNIQUE (token)
);

CREATE INDEX ix_login_sessions_user_expires ON login_sessions (user_id, expires_at);

CREATE TABLE user_preferences (
	user_id INTEGER NOT NULL,
	key VARCHAR(60) NOT NULL,
	value TEXT NOT NULL,
	CONSTRAINT pk_user_preferences PRIMARY KEY (user_id, key),
	CONSTRAINT fk_user_preferences_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE TABLE product_variants (
	id SERIAL NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
	product_id INTEGER NOT NULL,
	sku VARCHAR(40) NOT NULL,
	size VARCHAR(10),
	color VARCHAR(30),
	weight_grams INTEGER NOT NULL,
	CONSTRAINT pk_product_variants PRIMARY KEY (id),
	CONSTRAINT ck_product_variants_weight_nonneg CHECK (weight_grams >= 0),
	CONSTRAINT fk_product_variants_product_id_products FOREIGN KEY(product_id) REFERENCES products (id) ON DELETE CASCADE,
	CONSTRAINT uq_product_variants_sku UNIQUE (sku)
);

CREATE INDEX ix_product_variants_product_id ON product_variants (product_id);

CREATE TABLE product_images (
	id SERIAL NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
	product_id INTEGER NOT NULL,
	url VARCHAR(500) NOT NULL,
	position INTEGER NOT NULL,
	CONSTRAINT pk_product_images PRIMARY KEY (id),
	CONSTRAINT uq_product_images_product_id UNIQUE (product_id, position),
	CONSTRAINT ck_product_images_position_nonneg CHECK (position >= 0),
	CONSTRAINT fk_product_images_product_id_products FOREIGN KEY(product_id) REFERENCES products (id) ON DELETE CASCADE
);

CREATE INDEX ix_product_images_product_id ON product_images (product_id);

CREATE TABLE product_tags (
	product_id INTEGER NOT NULL,
	tag_id INTEGER NOT NULL,
	CONSTRAINT pk_product_tags PRIMARY KEY (product_id, tag_id),
	CONSTRAINT fk_product_tags_product_id_products FOREIGN KEY(product_id) REFERENCES products (id) ON DELETE CASCADE,
	CONSTRAINT fk_product_tags_tag_id_tags FOREIGN KEY(tag_id) REFERENCES tags (id) ON DELETE CASCADE
);

CREATE INDEX ix_product_tags_tag_id ON product_tags (tag_id);

CREATE TABLE reviews (
	id SERIAL NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
	product_id INTEGER NOT NULL,
	user_id INTEGER NOT NULL,
	rating INTEGER NOT NULL,
	body TEXT,
	CONSTRAINT pk_reviews PRIMARY KEY (id),
	CONSTRAINT ck_reviews_rating_range CHECK (rating BETWEEN 1 AND 5),
	CONSTRAINT uq_reviews_product_id UNIQUE (product_id, user_id),
	CONSTRAINT fk_reviews_product_id_products FOREIGN KEY(product_id) REFERENCES products (id) ON DELETE CASCADE,
	CONSTRAINT fk_reviews_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX ix_reviews_product_id ON reviews (product_id);

CREATE INDEX ix_reviews_user_id ON reviews (user_id);

CREATE TABLE carts (
	id SERIAL NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
	user_id INTEGER NOT NULL,
	CONSTRAINT pk_carts PRIMARY KEY (id),
	CONSTRAINT fk_carts_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX ix_carts_user_id ON carts (user_id);

CREATE TABLE notifications (
	id SERIAL NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
	user_id INTEGER NOT NULL,
	kind VARCHAR(30) NOT NULL,
	read BOOLEAN NOT NULL,
	CONSTRAINT pk_notifications PRIMARY KEY (id),
	CONSTRAINT fk_notifications_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX ix_notifications_unread ON notifications (user_id, read);

CREATE TABLE webhook_deliveries (
	id SERIAL NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
	webhook_id INTEGER NOT NULL,
	status_code INTEGER,
	attempts INTEGER NOT NULL,
	delivered_at TIMESTAMP WITH TIME ZONE,
	CONSTRAINT pk_webhook_deliveries PRIMARY KEY (id),
	CONSTRAINT ck_webhook_deliveries_attempts_range CHECK (attempts BETWEEN 1 AND 10),
	CONSTRAINT ck_webhook_deliveries_status_code CHECK (status_code IS NULL OR status_code BETWEEN 100 AND 599),
	CONSTRAINT fk_webhook_deliveries_webhook_id_webhooks FOREIGN KEY(webhook_id) REFERENCES webhooks (id) ON DELETE CASCADE
);

CREATE INDEX ix_webhook_deliveries_webhook_id ON webhook_deliveries (webhook_id);

CREATE TABLE prices (
	price_list_id INTEGER NOT NULL,
	variant_id INTEGER NOT NULL,
	amount NUMERIC(12, 2) NOT NULL,
	CONSTRAINT pk_prices PRIMARY KEY (price_list_id, variant_id),
	CONSTRAINT ck_prices_amount_nonneg CHECK (amount >= 0),
	CONSTRAINT fk_prices_price_list_id_price_lists FOREIGN KEY(price_list_id) REFERENCES price_lists (id) ON DELETE CASCADE,
	CONSTRAINT fk_prices_variant_id_product_variants FOREIGN KEY(variant_id) REFERENCES product_variants (id) ON DELETE CASCADE
);

CREATE INDEX ix_prices_variant_id ON prices (variant_id);

CREATE TABLE stock_levels (
	warehouse_id INTEGER NOT NULL,
	variant_id INTEGER NOT NULL,
	on_hand INTEGER NOT NULL,
	reserved INTEGER NOT NULL,
	CONSTRAINT pk_stock_levels PRIMARY KEY (warehouse_id, variant_id),
	CONSTRAINT ck_stock_levels_on_hand_nonneg CHECK (on_hand >= 0),
	CONSTRAINT ck_stock_levels_reserved_range CHECK (reserved >= 0 AND reserved <= on_hand),
	CONSTRAINT fk_stock_levels_warehouse_id_warehouses FOREIGN KEY(warehouse_id) REFERENCES warehouses (id) ON DELETE CASCADE,
	CONSTRAINT fk_stock_levels_variant_id_product_variants FOREIGN KEY(variant_id) REFERENCES product_variants (id) ON DELETE CASCADE
);

CREATE INDEX ix_stock_levels_variant_id ON stock_levels (variant_id);

CREATE TABLE stock_movements (
	id SERIAL NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
	warehouse_id INTEGER NOT NULL,
	variant_id INTEGER NOT NULL,
	delta INTEGER NOT NULL,
	reason VARCHAR(20) NOT NULL,
	CONSTRAINT pk_stock_movements PRIMARY KEY (id),
	CONSTRAINT ck_stock_movements_delta_nonzero CHECK (delta <> 0),
	CONSTRAINT ck_stock_movements_reason CHECK (reason IN ('receipt', 'sale', 'return', 'adjustment')),
	CONSTRAINT fk_stock_movements_warehouse_id_warehouses FOREIGN KEY(warehouse_id) REFERENCES warehouses (id),
	CONSTRAINT fk_stock_movements_variant_id_product_variants FOREIGN KEY(variant_id) REFERENCES product_variants (id)
);

CREATE INDEX ix_stock_movements_wh_variant ON stock_movements (warehouse_id, variant_id);

CREATE TABLE purchase_order_lines (
	id SERIAL NOT NULL,
	purchase_order_id INTEGER NOT NULL,
	variant_id INTEGER NOT NULL,
	quantity INTEGER NOT NULL,
	unit_cost NUMERIC(12, 2) NOT NULL,
	CONSTRAINT pk_purchase_order_lines PRIMARY KEY (id),
	CONSTRAINT ck_purchase_order_lines_quantity_positive CHECK (quantity > 0),
	CONSTRAINT uq_purchase_order_lines_purchase_order_id UNIQUE (purchase_order_id, variant_id),
	CONSTRAINT fk_purchase_order_lines_purchase_order_id_purchase_orders FOREIGN KEY(purchase_order_id) REFERENCES purchase_orders (id) ON DELETE CASCADE,
	CONSTRAINT fk_purchase_order_lines_variant_id_product_variants FOREIGN KEY(variant_id) REFERENCES product_variants (id)
);

CREATE TABLE cart_items (
	cart_id INTEGER NOT NULL,
	variant_id INTEGER NOT NULL,
	quantity INTEGER NOT NULL,
	CONSTRAINT pk_cart_items PRIMARY KEY (cart_id, variant_id),
	CONSTRAINT ck_cart_items_quantity_range CHECK (quantity BETWEEN 1 AND 99),
	CONSTRAINT fk_cart_items_cart_id_carts FOREIGN KEY(cart_id) REFERENCES carts (id) ON DELETE CASCADE,
	CONSTRAINT fk_cart_items_variant_id_product_variants FOREIGN KEY(variant_id) REFERENCES product_variants (id)
);

CREATE TABLE orders (
	id SERIAL NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
	user_id INTEGER NOT NULL,
	shipping_address_id INTEGER,
	status VARCHAR(12) NOT NULL,
	total NUMERIC(12, 2) NOT NULL,
	CONSTRAINT pk_orders PRIMARY KEY (id),
	CONSTRAINT ck_orders_status CHECK (status IN ('pending', 'paid', 'shipped', 'cancelled', 'refunded')),
	CONSTRAINT ck_orders_total_nonneg CHECK (total >= 0),
	CONSTRAINT fk_orders_user_id_users FOREIGN KEY(user_id) REFERENCES users (id),
	CONSTRAINT fk_orders_shipping_address_id_addresses FOREIGN KEY(shipping_address_id) REFERENCES addresses (id)
);

CREATE INDEX ix_orders_user_status ON orders (user_id, status);

CREATE TABLE order_lines (
	id SERIAL NOT NULL,
	order_id INTEGER NOT NULL,
	variant_id INTEGER NOT NULL,
	quantity INTEGER NOT NULL,
	unit_price NUMERIC(12, 2) NOT NULL,
	CONSTRAINT pk_order_lines PRIMARY KEY (id),
	CONSTRAINT ck_order_lines_quantity_positive CHECK (quantity > 0),
	CONSTRAINT ck_order_lines_unit_price_nonneg CHECK (unit_price >= 0),
	CONSTRAINT uq_order_lines_order_id UNIQUE (order_id, variant_id),
	CONSTRAINT fk_order_lines_order_id_orders FOREIGN KEY(order_id) REFERENCES orders (id) ON DELETE CASCADE,
	CONSTRAINT fk_order_lines_variant_id_product_variants FOREIGN KEY(variant_id) REFERENCES product_variants (id)
);

CREATE INDEX ix_order_lines_order_id ON order_lines (order_id);

CREATE TABLE payments (
	id SERIAL NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
	order_id INTEGER NOT NULL,
	amount NUMERIC(12, 2) NOT NULL,
	method VARCHAR(12) NOT NULL,
	provider_ref VARCHAR(64),
	CONSTRAINT pk_payments PRIMARY KEY (id),
	CONSTRAINT ck_payments_amount_positive CHECK (amount > 0),
	CONSTRAINT ck_payments_method CHECK (method IN ('card', 'transfer', 'voucher')),
	CONSTRAINT fk_payments_order_id_orders FOREIGN KEY(order_id) REFERENCES orders (id) ON DELETE CASCADE,
	CONSTRAINT uq_payments_provider_ref UNIQUE (provider_ref)
);

CREATE INDEX ix_payments_order_id ON payments (order_id);

CREATE TABLE shipments (
	id SERIAL NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
	order_id INTEGER NOT NULL,
	warehouse_id INTEGER NOT NULL,
	carrier VARCHAR(40) NOT NULL,
	tracking_code VARCHAR(60),
	shipped_at TIMESTAMP WITH TIME ZONE,
	CONSTRAINT pk_shipments PRIMARY KEY (id),
	CONSTRAINT fk_shipments_order_id_orders FOREIGN KEY(order_id) REFERENCES orders (id) ON DELETE CASCADE,
	CONSTRAINT fk_shipments_warehouse_id_warehouses FOREIGN KEY(warehouse_id) REFERENCES warehouses (id),
	CONSTRAINT uq_shipments_tracking_code UNIQUE (tracking_code)
);

CREATE INDEX ix_shipments_order_id ON shipments (order_id);

CREATE TABLE coupon_redemptions (
	id SERIAL NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
	coupon_id INTEGER NOT NULL,
	order_id INTEGER NOT NULL,
	CONSTRAINT pk_coupon_redemptions PRIMARY KEY (id),
	CONSTRAINT fk_coupon_redemptions_coupon_id_coupons FOREIGN KEY(coupon_id) REFERENCES coupons (id) ON DELETE CASCADE,
	CONSTRAINT uq_coupon_redemptions_order_id UNIQUE (order_id),
	CONSTRAINT fk_coupon_redemptions_order_id_orders FOREIGN KEY(order_id) REFERENCES orders (id) ON DELETE CASCADE
);

CREATE INDEX ix_coupon_redemptions_coupon ON coupon_redemptions (coupon_id);

CREATE TABLE tickets (
	id SERIAL NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
	user_id INTEGER NOT NULL,
	order_id INTEGER,
	subject VARCHAR(200) NOT NULL,
	priority INTEGER NOT NULL,
	status VARCHAR(10) NOT NULL,
	CONSTRAINT pk_tickets PRIMARY KEY (id),
	CONSTRAINT ck_tickets_priority_range CHECK (priority BETWEEN 1 AND 5),
	CONSTRAINT ck_tickets_status CHECK (status IN ('open', 'pending', 'closed')),
	CONSTRAINT fk_tickets_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE,
	CONSTRAINT fk_tickets_order_id_orders FOREIGN KEY(order_id) REFERENCES orders (id) ON DELETE SET NULL
);

CREATE INDEX ix_tickets_user_id ON tickets (user_id);

CREATE INDEX ix_tickets_open ON tickets (status, priority);

CREATE TABLE refunds (
	id SERIAL NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
	payment_id INTEGER NOT NULL,
	amount NUMERIC(12, 2) NOT NULL,
	reason VARCHAR(200),
	CONSTRAINT pk_refunds PRIMARY KEY (id),
	CONSTRAINT ck_refunds_amount_positive CHECK (amount > 0),
	CONSTRAINT fk_refunds_payment_id_payments FOREIGN KEY(payment_id) REFERENCES payments (id) ON DELETE CASCADE
);

CREATE INDEX ix_refunds_payment_id ON refunds (payment_id);

CREATE TABLE shipment_items (
	shipment_id INTEGER NOT NULL,
	order_line_id INTEGER NOT NULL,
	quantity INTEGER NOT NULL,
	CONSTRAINT pk_shipment_items PRIMARY KEY (shipment_id, order_line_id),
	CONSTRAINT ck_shipment_items_quantity_positive CHECK (quantity > 0),
	CONSTRAINT fk_shipment_items_shipment_id_shipments FOREIGN KEY(shipment_id) REFERENCES shipments (id) ON DELETE CASCADE,
	CONSTRAINT fk_shipment_items_order_line_id_order_lines FOREIGN KEY(order_line_id) REFERENCES order_lines (id) ON DELETE CASCADE
);

CREATE TABLE ticket_messages (
	id SERIAL NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
	ticket_id INTEGER NOT NULL,
	author_id INTEGER NOT NULL,
	body TEXT NOT NULL,
	CONSTRAINT pk_ticket_messages PRIMARY KEY (id),
	CONSTRAINT ck_ticket_messages_body_nonempty CHECK (length(body) > 0),
	CONSTRAINT fk_ticket_messages_ticket_id_tickets FOREIGN KEY(ticket_id) REFERENCES tickets (id) ON DELETE CASCADE,
	CONSTRAINT fk_ticket_messages_author_id_users FOREIGN KEY(author_id) REFERENCES users (id)
);

CREATE INDEX ix_ticket_messages_ticket_id ON ticket_messages (ticket_id);

-- ---- CRM ------------------------------------------------------------------

CREATE TABLE companies (
	id SERIAL PRIMARY KEY,
	organization_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
	name VARCHAR(200) NOT NULL,
	domain VARCHAR(200),
	employees INTEGER CHECK (employees IS NULL OR employees >= 0),
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
	UNIQUE (organization_id, name)
);

CREATE TABLE contacts (
	id SERIAL PRIMARY KEY,
	company_id INTEGER REFERENCES companies (id) ON DELETE SET NULL,
	owner_id INTEGER REFERENCES users (id),
	email VARCHAR(254) NOT NULL CHECK (position('@' in email) > 1),
	full_name VARCHAR(200) NOT NULL,
	phone VARCHAR(40),
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL
);
CREATE INDEX ix_contacts_company ON contacts (company_id);
CREATE INDEX ix_contacts_email_lower ON contacts (lower(email));

CREATE TABLE deal_stages (
	id SERIAL PRIMARY KEY,
	name VARCHAR(40) NOT NULL UNIQUE,
	position INTEGER NOT NULL UNIQUE CHECK (position >= 0),
	probability NUMERIC(5, 2) NOT NULL CHECK (probability BETWEEN 0 AND 100)
);

CREATE TABLE deals (
	id SERIAL PRIMARY KEY,
	company_id INTEGER NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
	stage_id INTEGER NOT NULL REFERENCES deal_stages (id),
	owner_id INTEGER REFERENCES users (id),
	title VARCHAR(200) NOT NULL,
	amount NUMERIC(12, 2) NOT NULL DEFAULT 0 CHECK (amount >= 0),
	closes_on DATE,
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
	updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL
);
CREATE INDEX ix_deals_stage ON deals (stage_id);
CREATE INDEX ix_deals_open ON deals (closes_on) WHERE stage_id IS NOT NULL;

CREATE TABLE activities (
	id SERIAL PRIMARY KEY,
	contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
	deal_id INTEGER REFERENCES deals (id) ON DELETE SET NULL,
	kind VARCHAR(10) NOT NULL CHECK (kind IN ('call', 'email', 'meeting', 'task')),
	due_at TIMESTAMP WITH TIME ZONE,
	done BOOLEAN NOT NULL DEFAULT false
);
CREATE INDEX ix_activities_contact_due ON activities (contact_id, due_at);

CREATE TABLE notes (
	id SERIAL PRIMARY KEY,
	contact_id INTEGER REFERENCES contacts (id) ON DELETE CASCADE,
	deal_id INTEGER REFERENCES deals (id) ON DELETE CASCADE,
	author_id INTEGER NOT NULL REFERENCES users (id),
	body TEXT NOT NULL CHECK (length(body) > 0),
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
	CHECK (contact_id IS NOT NULL OR deal_id IS NOT NULL)
);

CREATE TABLE contact_tags (
	contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
	tag_id INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
	PRIMARY KEY (contact_id, tag_id)
);
CREATE INDEX ix_contact_tags_tag ON contact_tags (tag_id);

CREATE TABLE campaigns (
	id SERIAL PRIMARY KEY,
	organization_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
	name VARCHAR(120) NOT NULL,
	starts_on DATE NOT NULL,
	ends_on DATE,
	budget NUMERIC(12, 2) CHECK (budget IS NULL OR budget >= 0),
	CHECK (ends_on IS NULL OR ends_on >= starts_on)
);

CREATE TABLE campaign_members (
	campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
	contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
	status VARCHAR(12) NOT NULL DEFAULT 'sent' CHECK (status IN ('sent', 'opened', 'clicked', 'bounced')),
	PRIMARY KEY (campaign_id, contact_id)
);

-- ---- a view and a trigger ---------------------------------------------------

CREATE VIEW pipeline AS
SELECT s.name AS stage, count(d.id) AS deals, coalesce(sum(d.amount), 0) AS amount,
       coalesce(sum(d.amount * s.probability / 100), 0) AS weighted
  FROM deal_stages s LEFT JOIN deals d ON d.stage_id = s.id
 GROUP BY s.id, s.name, s.position
 ORDER BY s.position;

CREATE FUNCTION touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	NEW.updated_at := now();
	RETURN NEW;
END $$;
CREATE TRIGGER deals_touch BEFORE UPDATE ON deals
	FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- ---- seed data (reference rows every test expects) -------------------------

INSERT INTO organizations (name, plan, seats)
SELECT 'org-' || g, (ARRAY['free', 'team', 'enterprise'])[1 + g % 3], 1 + g % 50
  FROM generate_series(1, 200) g;
INSERT INTO users (organization_id, email, display_name, is_active)
SELECT 1 + g % 200, 'user' || g || '@example.com', 'User ' || g, g % 10 <> 0
  FROM generate_series(1, 2000) g;
INSERT INTO roles (name) VALUES ('admin'), ('manager'), ('viewer'), ('billing');
INSERT INTO user_roles (user_id, role_id) SELECT g, 1 + g % 4 FROM generate_series(1, 2000) g;
INSERT INTO categories (slug, name) SELECT 'cat-' || g, 'Category ' || g FROM generate_series(1, 50) g;
INSERT INTO brands (name) SELECT 'Brand ' || g FROM generate_series(1, 40) g;
INSERT INTO products (category_id, brand_id, sku, name, description, price, is_active)
SELECT 1 + g % 50, 1 + g % 40, 'SKU-' || g, 'Product ' || g, repeat('Lorem ipsum ', 5),
       round((1 + (g * 7919) % 50000 / 100.0)::numeric, 2), true
  FROM generate_series(1, 5000) g;
INSERT INTO product_variants (product_id, sku, size, color, weight_grams)
SELECT 1 + g % 5000, 'VAR-' || g, (ARRAY['S', 'M', 'L', 'XL'])[1 + g % 4], 'black', 100 + g % 900
  FROM generate_series(1, 15000) g;
INSERT INTO warehouses (code, city, capacity)
VALUES ('LYS', 'Lyon', 100000), ('CDG', 'Paris', 250000), ('MRS', 'Marseille', 80000);
INSERT INTO stock_levels (warehouse_id, variant_id, on_hand, reserved)
SELECT w, v, 10 + (v * w) % 90, (v * w) % 10 FROM generate_series(1, 3) w, generate_series(1, 15000) v;
INSERT INTO tags (name) SELECT 'tag-' || g FROM generate_series(1, 100) g;
INSERT INTO deal_stages (name, position, probability)
VALUES ('lead', 0, 10), ('qualified', 1, 25), ('proposal', 2, 50), ('negotiation', 3, 75), ('won', 4, 100), ('lost', 5, 0);
INSERT INTO companies (organization_id, name, domain, employees)
SELECT 1 + g % 200, 'Company ' || g, 'company' || g || '.example', g % 5000 FROM generate_series(1, 1000) g;
INSERT INTO contacts (company_id, owner_id, email, full_name)
SELECT 1 + g % 1000, 1 + g % 2000, 'contact' || g || '@example.com', 'Contact ' || g FROM generate_series(1, 5000) g;
INSERT INTO deals (company_id, stage_id, owner_id, title, amount, closes_on)
SELECT 1 + g % 1000, 1 + g % 6, 1 + g % 2000, 'Deal ' || g, (g % 100) * 250, DATE '2025-01-01' + g % 365
  FROM generate_series(1, 3000) g;

ANALYZE;
