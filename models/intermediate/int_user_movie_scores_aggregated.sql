{#
    The user-movie matrix ALS trains on. An explicit rating wins (the latest
    one); otherwise the events' weights (seed event_weights) are summed and
    capped at var implicit_score_cap, which is the top of the rating scale.
#}
with

interactions as (

    select * from {{ ref('int_interactions_unioned') }}

),

event_weights as (

    select * from {{ ref('event_weights') }}

),

weighted as (

    select
        interactions.user_id,
        interactions.movie_id,
        interactions.event_type,
        interactions.rating,
        interactions.event_at,
        event_weights.weight
    from interactions
    inner join event_weights
        on interactions.event_type = event_weights.event_type

),

aggregated as (

    select
        -- ids
        user_id,
        movie_id,

        -- the latest explicit rating, if any
        max_by(rating, case when event_type = 'rate' then event_at end) as latest_rating,
        sum(weight) as implicit_weight,
        count(*) as n_events,

        -- timestamps
        max(event_at) as last_event_at

    from weighted
    group by user_id, movie_id

),

final as (

    select
        user_id,
        movie_id,
        coalesce(
            latest_rating,
            least(implicit_weight, {{ var('implicit_score_cap') }})
        ) as score,
        latest_rating is not null as is_rated,
        implicit_weight,
        n_events,
        last_event_at
    from aggregated

)

select * from final
