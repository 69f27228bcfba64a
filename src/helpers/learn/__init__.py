"""Models and training: the named models (`models`), fitting (`training`, `history`, `weights`),
transfer learning (`transfer`), run folders (`folder`), `course train` (`runs`, `members`,
`calibration`), the data-size study (`study`) and fine-tuning on FG-NET (`finetune`)."""
