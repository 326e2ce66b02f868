"""English for the expert pool (专家库) and the review rubric (评审细则) pages."""

from __future__ import annotations

MESSAGES: dict[str, str] = {
    "专家库": "Expert pool",
    "我的专家档案": "My expert profile",
    "专家档案": "Expert profile",
    "专家姓名": "Expert",
    "专家职称": "Title",
    "专业领域（标签）": "Fields of expertise",
    "专业领域（以逗号或顿号分隔）": "Fields of expertise (separated by commas)",
    "任职单位（组织）": "Affiliation",
    "在专家库中": "In the pool",
    "不在专家库中": "Not in the pool",
    "冲突声明数": "Conflicts declared",
    "负荷·专家组席位": "Load: panel seats",
    "负荷·待评申请": "Load: applications to score",
    "负荷·待复核答案": "Load: answers to grade",
    "评审负荷：未回避的在审专家组席位、尚待评分的申请、尚待复核的赛马答案。": (
        "Load: seats on open panels not recused from, applications still to score, sampled "
        "race answers still to grade."
    ),
    "搜索专家": "Search experts",
    "没有符合条件的专家。": "No expert matches.",
    "导入与导出": "Import and export",
    "列：用户名、姓名、职称、专业领域、任职单位、利益冲突单位、在库。全部行无误才写入。": (
        "Columns: 用户名 (username), 姓名 (name), 职称 (title), 专业领域 (fields), 任职单位 "
        "(affiliation), 利益冲突单位 (conflicts), 在库 (in the pool). Written only when every "
        "row is good."
    ),
    "导入专家库": "Import the pool",
    "导出专家库": "Export the pool",
    "专家库已导入：新建 {c} 位，更新 {u} 位。": "Pool imported: {c} created, {u} updated.",
    "新建的专家账号尚无密码，请在用户管理中为其重置密码：": (
        "The new expert accounts have no password yet; set one on the users page:"
    ),
    "任职单位与是否在库由运营方登记。": (
        "Your affiliation and whether you are in the pool are recorded by the operators."
    ),
    "保存档案": "Save profile",
    "利益冲突声明": "Declared conflicts of interest",
    "与下列单位存在利益冲突：抽取评审专家组时自动回避其发榜或申请的榜单。": (
        "Conflicts of interest with these organisations: panels of challenges they issue or "
        "apply to are drawn without you."
    ),
    "尚未声明利益冲突。": "No conflict declared.",
    "利益冲突单位": "Organisation",
    "声明利益冲突": "Declare a conflict",
    "撤回声明": "Withdraw",
    "本榜评审细则": "Review rubric",
    "设置评审细则": "Review rubric",
    "各项权重之和须为 100。榜单发布（开始揭榜）后评审细则即固定，不能再修改。": (
        "The weights sum to 100. Once the challenge is published (applications open) the "
        "rubric is fixed and can no longer change."
    ),
    "评审项代号": "Key",
    "评审项目": "Criterion",
    "权重（%）": "Weight (%)",
    "每项分值范围": "Score range per criterion",
    "分值下限": "Lowest score",
    "分值上限": "Highest score",
    "盲评方式": "Blinding",
    "单盲评审": "Single-blind",
    "双盲评审": "Double-blind",
    "单盲：专家可见申请单位": "Single-blind: experts see who applied",
    "双盲：专家看不到申请单位名称与成员": (
        "Double-blind: applicants' names and members are masked from experts"
    ),
    "分歧提示阈值": "Dispersion threshold",
    "综合评分规则": "Combined score",
    "综合评分（可省略）": "Combined score (optional)",
    "专家评分权重": "Panel score weight",
    "赛马成绩权重": "Race score weight",
    "归一化方式": "Normalisation",
    "同分时先比较": "Ties broken by",
    "评审 {r} × 专家评分 + 赛马 {w} × 赛马成绩（归一化：{n}；同分时比较：{t}）": (
        "{r} × panel score + {w} × race score (normalised: {n}; ties broken by: {t})"
    ),
    "草稿：榜单发布后评审细则即固定并公开。": (
        "Draft: the rubric is fixed and made public when the challenge is published."
    ),
    "保存评审细则": "Save the rubric",
}
