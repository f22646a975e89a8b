-- Least privilege for the online service's role, when it exists (the local
-- cluster creates it; on another server the DBA does): it reads the
-- recommendations and the catalogue and appends events, serving logs and
-- feedback. Nothing else: it cannot read events back, change recommendations,
-- or touch metrics, runs or rejects.
do $$
begin
    if exists (select 1 from pg_roles where rolname = 'movie_recs_service') then
        revoke all on all tables in schema public from movie_recs_service;
        grant select on batch_recommendations, movies to movie_recs_service;
        grant insert on rt_user_interactions, recommendation_logs, recommendation_feedback
            to movie_recs_service;
    end if;
end
$$;
