{#
    Archived and recent events in the training window, each event once.
    After the archive task an event can be in both inputs; the archived copy
    wins. Only archived events from the lowest recent id up can be such a
    copy, so only those are compared with the recent events: with ids from a
    sequence that is the archive's last days, not all of it.
#}
with

archived as (

    select * from {{ ref('stg_lake__archived_events') }}

),

recent as (

    select * from {{ ref('stg_app__interactions') }}

),

possible_copies as (

    select archived.event_id
    from archived
    where archived.event_id >= (select min(recent.event_id) from recent)

),

recent_not_archived as (

    select recent.*
    from recent
    left anti join possible_copies
        on recent.event_id = possible_copies.event_id

),

unioned as (

    select * from archived

    union all

    select * from recent_not_archived

),

in_window as (

    select
        event_id,
        user_id,
        movie_id,
        event_type,
        rating,
        event_at
    from unioned
    where
        event_at >= {{ as_of_timestamp() }}
        - make_interval(0, 0, 0, {{ var('training_window_days') }})
        and event_at < {{ as_of_timestamp() }}

)

select * from in_window
