with

source as (

    select * from {{ source('lake', 'archived_events') }}

),

renamed as (

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

)

select * from renamed
