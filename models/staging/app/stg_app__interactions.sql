with

source as (

    select * from {{ source('app', 'rt_user_interactions') }}

),

usable as (

    select
        -- ids
        event_id,
        user_id,
        movie_id,

        -- event
        event_type,
        rating,

        -- timestamps
        event_ts as event_at

    from source
    where reject_reason is null

)

select * from usable
