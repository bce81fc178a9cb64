-- Facts about the warehouse itself, e.g. that it holds generated sample data (malbild demo).
CREATE TABLE core.warehouse_info (
    key    VARCHAR PRIMARY KEY,
    value  VARCHAR NOT NULL,
    set_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

COMMENT ON TABLE core.warehouse_info IS
    'Facts about this warehouse: key sample_data means its values are generated, not statistics.';
