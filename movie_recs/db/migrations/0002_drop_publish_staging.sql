-- The publish writes straight into batch_recommendations inside its one
-- transaction now; the staging table earlier versions created is unused.
drop table if exists batch_recommendations_staging;
