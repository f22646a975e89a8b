{#
    Archived and recent events in the training window, each event once.
    After the archive task an event can be in both inputs; the archived copy wins.
#}
with

archived as (

    select * from {{ ref('stg_lake__archived_events') }}

),

recent as (

    select * from {{ ref('stg_app__interactions') }}

),

unioned as (

    select
        *,
        1 as source_priority
    from archived

    union all

    select
        *,
        2 as source_priority
    from recent

),

in_window as (

    select *
    from unioned
    where
        event_at >= {{ as_of_timestamp() }}
        - make_interval(0, 0, 0, {{ var('training_window_days') }})
        and event_at < {{ as_of_timestamp() }}

),

ranked as (

    select
        *,
        row_number() over (partition by event_id order by source_priority) as copy_rank
    from in_window

),

deduplicated as (

    select
        event_id,
        user_id,
        movie_id,
        event_type,
        rating,
        event_at
    from ranked
    where copy_rank = 1

)

select * from deduplicated
