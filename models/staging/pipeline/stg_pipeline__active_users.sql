with

source as (

    select * from {{ source('pipeline', 'active_users') }}

),

renamed as (

    select
        user_id,
        run_date,
        as_of as as_of_at
    from source

)

select * from renamed
