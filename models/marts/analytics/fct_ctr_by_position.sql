with

impressions as (

    select * from {{ ref('fct_impressions') }}

),

by_position as (

    select
        variant,
        position,
        count(*) as impressions,
        sum(cast(is_clicked as int)) as clicks,
        sum(cast(is_watched as int)) as watches
    from impressions
    group by variant, position

),

final as (

    select
        variant,
        position,
        impressions,
        clicks,
        watches,
        clicks / impressions as ctr,
        {{ wilson_bounds('clicks', 'impressions') }}
    from by_position

)

select * from final
