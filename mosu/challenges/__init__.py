"""揭榜挂帅 challenges and 赛马 races: from a published challenge to an award."""
